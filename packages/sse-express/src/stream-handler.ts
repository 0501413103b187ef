import type { StreamOptions, StreamProducer } from "@burrow/sse-core";
import * as core from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";

/**
 * An express handler whose answer is an event stream of its own, written by
 * `produce(stream, req)`: one request's progress and result (htmx 4 streams
 * the answer of an `hx-post` into its target), not a broker subscription.
 * Core's {@link core.streamHandler}, typed for express: a producer (or
 * `authorize`) that throws a bug goes to `next(err)` once the answer is
 * sent, unless `options.onError` is given. Throws `SSEOptionError` at once
 * for a bad option.
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
  const serve = core.streamHandler<Request>(produce, options);
  return (req, res, next) => {
    void serve(req, res, req, next);
  };
}
