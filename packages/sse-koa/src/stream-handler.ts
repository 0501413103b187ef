import type { StreamOptions, StreamProducer } from "@burrow/sse-core";
import * as core from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { withKoaErrors } from "./handlers.js";
import { takeResponse } from "./take-response.js";

/**
 * A koa middleware whose answer is an event stream of its own, written by
 * `produce(stream, ctx)`: one request's progress and result (htmx 4 streams
 * the answer of an `hx-post` into its target), not a broker subscription.
 * Core writes the response (`ctx.respond = false`); the middleware resolves
 * when the stream ends. A producer (or `authorize`) that throws a bug goes to
 * koa's error handling (`app.on("error")`) unless `options.onError` is
 * given. Throws `SSEOptionError` at once for a bad option.
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
  const serve = core.streamHandler<Context>(produce, withKoaErrors(options));
  return (ctx) => {
    takeResponse(ctx);
    return serve(ctx.req, ctx.res, ctx);
  };
}
