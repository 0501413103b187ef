import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/**
 * What an action answers, framework-free: each server entry point only
 * copies it onto express's `res` or koa's `ctx`.
 */
export interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string | Buffer;
}

/** An error that answers `status` with its message as plain text. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/**
 * The Content-Security-Policy of an HTML answer: a second line of defence
 * behind the templates' escaping. A page runs only the scripts carrying its
 * `nonce` (htmx and its SSE extension, from 'self'); a fragment, none. So a
 * `<script>` that slipped into a fragment never runs, inline or with a `src`,
 * even on htmx 4, which re-creates every script it swaps in; and without
 * 'unsafe-eval' neither does an `hx-on` handler, which htmx 4 evaluates.
 */
function contentSecurityPolicy(nonce: string | undefined): string {
  const scripts = nonce === undefined ? "'none'" : `'nonce-${nonce}'`;
  return `default-src 'self'; script-src ${scripts}; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

/** An HTML page (with the `nonce` its scripts carry) or fragment (none). */
export function html(body: string, status = 200, nonce?: string): Reply {
  return {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": contentSecurityPolicy(nonce),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "same-origin",
    },
    body,
  };
}

/** Plain text, e.g. an error. */
export function text(body: string, status: number): Reply {
  return { status, headers: { "Content-Type": "text/plain; charset=utf-8" }, body };
}

/** 204: done, nothing to swap. */
export function noContent(): Reply {
  return { status: 204, headers: {}, body: "" };
}

/** 303 to a path on this site (a POST answered with a page to GET). */
export function redirect(path: string): Reply {
  return { status: 303, headers: { Location: path }, body: "" };
}

/** Adds a `Set-Cookie` header to `reply`. */
export function withCookie(reply: Reply, cookie: string): Reply {
  const existing = reply.headers["Set-Cookie"];
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  return { ...reply, headers: { ...reply.headers, "Set-Cookie": [...list, cookie] } };
}

/** A long-lived, same-site cookie; `httpOnly` unless the page must read it. */
export function cookie(name: string, value: string, httpOnly = true): string {
  return `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=31536000; SameSite=Lax${httpOnly ? "; HttpOnly" : ""}`;
}

/** The request's cookies, by name. */
export function parseCookies(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie is ignored, not an error page.
    }
  }
  return out;
}

const FORM_LIMIT = 16 * 1024;

/**
 * Reads an `application/x-www-form-urlencoded` body (what an htmx form
 * posts), at most 16 KiB. Shared by both servers, so neither needs a body
 * parser and both read forms the same way.
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT) throw new HttpError(413, "form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * Refuses a POST that a browser says comes from another origin (a forged
 * cross-site form, or a page on another port of the same host), whatever
 * else it says. Two headers, either one enough to refuse:
 *
 * - `Origin`, sent by every current browser on every POST: refused unless it
 *   is exactly `http(s)://` plus this request's `Host`. `Origin: null` is
 *   refused too: a cross-site page gets it at will (`Referrer-Policy:
 *   no-referrer`, a sandboxed frame), and the demo's own pages never send it.
 * - `Sec-Fetch-Site`: refused unless `same-origin` or `none` (typed by the user).
 *
 * A request with neither header (curl, a test, a browser too old to send
 * `Origin` on a form) is no cross-site browser request and is let through.
 */
export function checkSameOrigin(headers: IncomingHttpHeaders): void {
  const site = headers["sec-fetch-site"];
  const foreignSite = site !== undefined && site !== "same-origin" && site !== "none";
  const origin = headers.origin;
  if (foreignSite || (origin !== undefined && !isOwnOrigin(origin, headers.host))) {
    throw new HttpError(403, "cross-origin requests are refused");
  }
}

/** Whether `origin` (an `Origin` header) is the origin of a request to `host` (its `Host` header). */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    // Only an exact serialized origin: no path, no user info, no stray characters.
    if (url.origin !== origin || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return false;
    }
    // The scheme is not compared: behind a TLS proxy the browser says https, this server sees http.
    return new URL(`${url.protocol}//${host}`).host === url.host;
  } catch {
    return false;
  }
}

// A path-absolute of RFC 3986 path characters (percent-escapes complete),
// not starting with "//": nothing a URL parser reads as a scheme or a host.
// Backslashes, white space, control and non-ASCII characters are not path
// characters, so none of the tricks browsers forgive (`/\host`, `/<TAB>/host`)
// gets through; a path the page rendered (an encoded `URL.pathname`) always does.
const LOCAL_PATH = /^\/(?!\/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

/**
 * A local path to go back to after a form, or `/`: never another origin,
 * however a browser's URL parser reads it (see `LOCAL_PATH`).
 */
export function safeBackPath(value: string | null): string {
  return value !== null && LOCAL_PATH.test(value) ? value : "/";
}

/**
 * A 400 for a request whose path does not percent-decode (`/projects/%E0%A4%A`),
 * else `undefined`. Run before routing, so that no router throws on it and
 * no stack trace is logged for a client's typo.
 */
export function malformedUrl(url: string | undefined): Reply | undefined {
  try {
    decodeURIComponent(new URL(url ?? "/", "http://localhost").pathname);
    return undefined;
  } catch {
    return text("malformed URL", 400);
  }
}
