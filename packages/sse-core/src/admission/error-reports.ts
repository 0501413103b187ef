import { types } from "node:util";
import { SSECallbackError } from "../base/errors.js";

/**
 * What a handler may read, report and hand on of a thrown value: an object
 * that is not a Proxy and whose fields the error path reads can be read
 * without throwing, as it is; anything else (a primitive, `null`, a Proxy, a
 * throwing getter) an {@link SSECallbackError} in its place, so that neither
 * the answer, nor a log line, nor the framework's error handling can throw
 * on it (and express never reads a thrown `"route"` as `next("route")`).
 * @internal
 */
export function readableThrown(thrown: unknown): unknown {
  if (thrown === null || (typeof thrown !== "object" && typeof thrown !== "function")) {
    return new SSECallbackError(`a callback threw ${describePrimitive(thrown)}`, thrown);
  }
  try {
    if (types.isProxy(thrown)) throw thrown;
    const fields = thrown as Record<string, unknown>;
    for (const key of ["status", "statusCode", "expose", "message", "name", "stack", "headers"]) {
      void fields[key];
    }
    return thrown;
  } catch {
    return new SSECallbackError(
      "a callback threw a value that cannot be read (a Proxy, or an object whose getters throw)",
    );
  }
}

function describePrimitive(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 80))}`;
  if (typeof value === "symbol") return "a symbol";
  return String(value);
}

/** `req`'s method and path (never its query, which may hold a token), for a log line. */
function requestLine(req: unknown): string {
  const { method, originalUrl, url } = (req ?? {}) as {
    method?: unknown;
    originalUrl?: unknown;
    url?: unknown;
  };
  const target = typeof originalUrl === "string" ? originalUrl : url;
  if (typeof method !== "string" || typeof target !== "string") return "";
  const query = target.indexOf("?");
  const path = query === -1 ? target : target.slice(0, query);
  return ` (${method} ${path.replace(/^[a-z][a-z\d+.-]*:\/\/[^/]*/i, "")})`;
}

/**
 * The default `onError`: logs `error` once, with `what` failed and the
 * request's method and path. @internal
 */
export function logError(what: string): (error: unknown, req: unknown) => void {
  return (error, req) => console.error(`sse: ${what}${requestLine(req)}:`, error);
}

/**
 * Hands `error` to `report`, the handler's `onError`: one that throws is
 * logged, never thrown into a request that is already answered. @internal
 */
export function reportError<R>(
  report: (error: unknown, req: R) => void,
  error: unknown,
  req: R,
): void {
  const readable = readableThrown(error);
  try {
    report(readable, req);
  } catch (failure) {
    try {
      console.error("sse: onError threw while reporting", readable, readableThrown(failure));
    } catch {
      // A console that throws: nothing is left to tell.
    }
  }
}
