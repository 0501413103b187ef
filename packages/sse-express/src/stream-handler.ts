import type { StreamOptions, StreamProducer } from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";
import { expressHandlers } from "./binding.js";

/**
 * An express handler whose answer is an event stream of its own, written by
 * `produce(stream, req)`: one request's progress and result (htmx 4 streams
 * the answer of an `hx-post` into its target), not a broker subscription.
 * Core's `streamHandler`, typed for express: an `authorize` that throws a
 * bug goes to `next(err)` with nothing answered, unless `options.onError`
 * is given; a producer runs once the stream's head is sent, so one that
 * throws ends the stream and is logged (or goes to `options.onError`),
 * never to `next`. Throws `SSEOptionError` at once for a bad option.
 *
 * @example
 * ```ts
 * app.post("/reports", streamHandler(async (stream, req) => {
 *   await stream.send({ data: "<progress></progress>" });
 *   await stream.send({ data: await renderReport(req.body, stream.signal) });
 * }));
 * ```
 */
export function streamHandler(
  produce: StreamProducer<Request>,
  options?: StreamOptions<Request>,
): RequestHandler {
  return expressHandlers.streamHandler(produce, options);
}
