import type { StreamOptions, StreamProducer } from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { koaHandlers } from "./binding.js";

/**
 * A koa middleware whose answer is an event stream of its own, written by
 * `produce(stream, ctx)`: one request's progress and result (htmx 4 streams
 * the answer of an `hx-post` into its target), not a broker subscription.
 * Core writes the response (`ctx.respond = false`); the middleware resolves
 * when the stream ends. An `authorize` that throws a bug rejects the
 * middleware with nothing answered, into koa's error handling; a producer
 * runs once the stream's head is sent, so one that throws ends the stream
 * and goes to `ctx.onerror` (`app.on("error")`), which sends nothing. With
 * `options.onError`, both go there instead. Throws `SSEOptionError` at once for a bad option.
 *
 * @example
 * ```ts
 * router.post("/reports", streamHandler(async (stream, ctx) => {
 *   await stream.send({ data: "<progress></progress>" });
 *   await stream.send({ data: await renderReport(ctx.params, stream.signal) });
 * }));
 * ```
 */
export function streamHandler(
  produce: StreamProducer<Context>,
  options?: StreamOptions<Context>,
): Middleware {
  return koaHandlers.streamHandler(produce, options);
}
