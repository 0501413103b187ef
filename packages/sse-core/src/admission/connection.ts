import { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { SSEError } from "../base/errors.js";
import type { SSERequest, SSEResponse } from "../transport/sse-request.js";
import { errorAnswer } from "./answers.js";

/**
 * Where a response stands just before its stream would start:
 * - `"open"`: its connection is there and the response is its to write on;
 * - `"gone"`: the client left, or somebody already answered;
 * - `"queued"`: HTTP/1.1 pipelining: the response waits behind an unfinished
 *   one on the same connection, and gets the socket only once that one ends.
 *   @internal
 */
export type ConnectionState = "open" | "gone" | "queued";

/**
 * Reads the state off the request, the response and the socket instead of
 * waiting for events: a `close` that fired before the handler ran (async
 * middleware in front) is not emitted again, and a response queued behind
 * another on its connection never emits one at all. @internal
 */
export function connectionState(req: SSERequest, res: SSEResponse): ConnectionState {
  if (res.writableEnded) return "gone";
  if (!(res instanceof ServerResponse)) {
    // HTTP/2: each response has a stream of its own.
    const { stream } = res as Http2ServerResponse;
    return stream.destroyed ? "gone" : "open";
  }
  if (res.destroyed) return "gone";
  const socket = res.socket ?? req.socket;
  if (socket === null || socket.destroyed) return "gone";
  return res.socket === null ? "queued" : "open";
}

/**
 * True when a stream can start on `res`; false when its client is gone (then
 * nothing is to be written). Throws the 503 answer for a response queued
 * behind another on its connection: an event stream never ends, so a request
 * pipelined behind one could never be served, and a stream left waiting for
 * its turn writes nothing, which lets Node go on reading requests pipelined
 * on that connection without bound (a written answer makes Node stop reading
 * a connection whose answers pile up). The answer, with `Connection: close`,
 * goes out in its turn; the client retries on a new connection (browsers
 * never pipeline). @internal
 */
export function readyToStream(req: SSERequest, res: SSEResponse): boolean {
  const state = connectionState(req, res);
  if (state === "queued") throw errorAnswer.pipelined();
  return state === "open";
}

/** Where a response keeps the mark of the handler that took it (shared by every loaded copy of core). */
const CLAIMED = Symbol.for("burrow.sse.claimed");

/**
 * Marks `res` as served by this event-stream handler, before anything is
 * awaited. False when it cannot be: another handler run already claimed it
 * (one request matched by two routes, or a handler called twice), or its head
 * was already sent by other code. Such a request is refused before anything
 * subscribes: the response is somebody else's, so nothing is written to it.
 * @internal
 */
export function claimResponse(res: SSEResponse): boolean {
  const marked = res as SSEResponse & { [CLAIMED]?: true };
  if (marked[CLAIMED] === true) return false;
  if (res.headersSent && !res.writableEnded) return false;
  marked[CLAIMED] = true;
  return true;
}

/** What a handler reports for a response it could not claim. @internal */
export function responseTaken(): SSEError {
  return new SSEError(
    "sse: this response is already taken: an event-stream handler ran a second time on one request " +
      "(do two routes match it, or does a middleware call the handler and then next()?), " +
      "or other code sent its head first; nothing was subscribed",
    500,
  );
}
