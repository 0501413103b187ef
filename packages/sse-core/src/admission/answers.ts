import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { SSEError, SSEFieldError, SSEMissingBrokerError } from "../base/errors.js";
import { readableThrown } from "./error-reports.js";

/** The status an error asks for, if it names one between 400 and 599. */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const value = status ?? statusCode;
  return Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 599
    ? (value as number)
    : undefined;
}

/**
 * How a request that cannot be streamed is answered.
 * @internal
 */
export const errorAnswer = {
  noBroker: (fix?: string): SSEError => new SSEMissingBrokerError(fix),

  /**
   * The broker closed (shutdown): an htmx request backs off on an error,
   * where an empty 200 stream would have htmx 4 retry every half second.
   */
  shuttingDown: (): SSEError =>
    new SSEError("sse: shutting down", 503, { headers: { "Retry-After": "5" } }),

  /** A stream request pipelined behind an unfinished answer on its HTTP/1.1 connection. */
  pipelined: (): SSEError =>
    new SSEError(
      "sse: an event stream cannot be pipelined behind another request; open it on a connection of its own",
      503,
      { headers: { Connection: "close" } },
    ),

  /**
   * An error's HTTP answer: an {@link SSEError}'s own status and message; a
   * bad topic list is 400; an HTTP-style error (`status` or `statusCode`)
   * keeps its status, and its message when below 500 unless `expose` is false;
   * anything else is a bare 500, so internals do not leak.
   *
   * `report` is true for a bug rather than a refusal: a missing broker, or an
   * error that is neither an {@link SSEError} (a deliberate answer), nor an
   * {@link SSEFieldError} (a bad topic list), nor one with a 4xx status.
   */
  of(err: unknown): ErrorAnswer {
    try {
      return answerOf(readableThrown(err));
    } catch {
      // A value readableThrown read once and that throws on a second read.
      return { status: 500, message: "sse: internal error", report: true };
    }
  },
};

/** A request's error answer, and whether the error is a bug to report. @internal */
export interface ErrorAnswer {
  status: number;
  message: string;
  headers?: Readonly<Record<string, string>>;
  report: boolean;
}

function answerOf(err: unknown): ErrorAnswer {
  if (SSEError.isInstance(err)) {
    return {
      status: err.status,
      message: err.message,
      headers: err.headers,
      report: SSEMissingBrokerError.isInstance(err),
    };
  }
  if (SSEFieldError.isInstance(err)) return { status: 400, message: err.message, report: false };
  const status = statusOf(err) ?? 500;
  const report = status >= 500;
  const expose = (err as { expose?: unknown } | null | undefined)?.expose;
  if (status < 500 && expose !== false && err instanceof Error && err.message) {
    return { status, message: err.message, report };
  }
  return {
    status,
    message: status === 500 ? "sse: internal error" : `sse: error ${status}`,
    report,
  };
}

/**
 * Headers of an error answer. It may quote a bit of the request (a refused
 * topic): `nosniff` keeps a browser from reading that as anything but text.
 * @internal
 */
export const ERROR_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Type": "text/plain; charset=utf-8",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
});

/**
 * Answers a request that cannot be streamed with `status` and `message`,
 * unless its head was sent; a response that refuses
 * the write (a state no check foresaw) is destroyed rather than left open.
 * @internal
 */
export function answerError(
  res: ServerResponse | Http2ServerResponse,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> | undefined,
): void {
  const response = res as ServerResponse & Http2ServerResponse;
  if (response.headersSent || response.writableEnded) return;
  try {
    response.writeHead(status, { ...ERROR_HEADERS, ...headers });
    response.end(message);
  } catch {
    response.destroy();
  }
}
