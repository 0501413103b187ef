// The browser tests' pages (not published: tsup bundles the entry points
// only): the real htmx 4.0.1 with its hx-sse extension, and htmx 2 with
// htmx-ext-sse, served from node_modules (never a CDN).
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** An htmx major version a page loads. */
export type HtmxVersion = 2 | 4;

const require = createRequire(import.meta.url);
const dist = (pkg: string) => dirname(require.resolve(`${pkg}/package.json`));

/** The scripts a page loads, by URL path: htmx 4 and hx-sse, htmx 2 and htmx-ext-sse. */
const SCRIPTS: Readonly<Record<string, string>> = {
  "/htmx4.js": join(dist("htmx.org"), "dist/htmx.js"),
  "/hx-sse.js": join(dist("htmx.org"), "dist/ext/hx-sse.js"),
  "/htmx2.js": join(dist("htmx2"), "dist/htmx.js"),
  "/sse2.js": join(dist("htmx-ext-sse"), "dist/sse.js"),
};

/** A whole HTML page of `body` that loads htmx `version` and its SSE extension (and no other script). */
export function htmxPage(body: string, version: HtmxVersion): string {
  const scripts =
    version === 4
      ? '<script src="/htmx4.js"></script><script src="/hx-sse.js"></script>'
      : '<script src="/htmx2.js"></script><script src="/sse2.js"></script>';
  return `<!doctype html><html><head><meta charset="utf-8">${scripts}</head><body>${body}</body></html>`;
}

/** Answers `path` with its script (or an empty favicon); false when it is neither. */
export function serveStatic(path: string, res: ServerResponse): boolean {
  if (path === "/favicon.ico") {
    res.writeHead(204).end();
    return true;
  }
  const script = SCRIPTS[path];
  if (script === undefined) return false;
  res.writeHead(200, { "Content-Type": "text/javascript" }).end(readFileSync(script));
  return true;
}
