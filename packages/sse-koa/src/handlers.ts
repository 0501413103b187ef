import type { EventBroker, HandlerOptions, Topics, TopicsFn } from "@burrow/sse-core";
import {
  serveEvents,
  type TopicsSource,
  validateBroker,
  validateOptions,
  validateTopics,
  validateTopicsFn,
  withOnError,
} from "@burrow/sse-core/adapter";
import type { Context, Middleware } from "koa";
import { brokerFrom } from "./middleware.js";
import { takeResponse } from "./take-response.js";

/**
 * Koa's error handling, for a bug a handler answered 500 (see `onError`):
 * `ctx.onerror` emits `error` on the app (so `app.on("error")` and koa's
 * default logger see it) and, the response being answered, sends nothing.
 */
function reportToKoa(error: unknown, ctx: Context): void {
  ctx.onerror(error as Error);
}

/**
 * `options` with koa's error handling as `onError` unless one is given.
 * Anything but an options object is passed on as it is, for core to refuse.
 * @internal
 */
export function withKoaErrors<O extends { onError?: (error: unknown, ctx: Context) => void }>(
  options: O | undefined,
): O {
  return withOnError(options, reportToKoa);
}

/**
 * A koa middleware that streams `topics` from `broker` to every client.
 * Throws `SSEOptionError` at once for a bad broker, topic list or option.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * router.get("/events", handler(broker, ["notifications", "status"]));
 * ```
 */
export function handler(
  broker: EventBroker,
  topics: Topics,
  options?: HandlerOptions<Context>,
): Middleware {
  validateBroker(broker);
  const list = validateTopics(topics, options);
  const koaOptions = withKoaErrors(options);
  return (ctx) => serve(ctx, broker, list, koaOptions);
}

/**
 * A koa middleware whose topics depend on the request: `topicsFn` receives
 * `ctx` (with `ctx.params` from `@koa/router`) and may be async. One that
 * throws an error with a `status`/`statusCode` of 400–499 (e.g. from
 * `ctx.throw(403)`) is answered that status; any other error is answered a
 * bare 500 and handed to koa's error handling (`app.on("error")`), unless
 * `options.onError` is given. Nothing is subscribed either way.
 *
 * @example
 * ```ts
 * router.get("/projects/:id/events", handlerFunc(broker, (ctx) => `project:${ctx.params.id}`));
 * ```
 */
export function handlerFunc(
  broker: EventBroker,
  topicsFn: TopicsFn<Context>,
  options?: HandlerOptions<Context>,
): Middleware {
  validateBroker(broker);
  validateTopicsFn(topicsFn);
  validateOptions(options);
  const koaOptions = withKoaErrors(options);
  return (ctx) => serve(ctx, broker, () => topicsFn(ctx), koaOptions);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; a request without one is answered 500 `sse: no broker on this
 * request: put middleware(broker) before this route`, and the
 * `SSEMissingBrokerError` goes to koa's error handling (or `options.onError`).
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * router.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler(topics: Topics, options?: HandlerOptions<Context>): Middleware {
  const list = validateTopics(topics, options);
  const koaOptions = withKoaErrors(options);
  return (ctx) => serve(ctx, brokerFrom(ctx), list, koaOptions);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; a request without one is answered 500 `sse: no broker on this
 * request: put middleware(broker) before this route`, and the
 * `SSEMissingBrokerError` goes to koa's error handling (or `options.onError`).
 *
 * @example
 * ```ts
 * app.use(middleware(() => brokerFromRegistry(registry)));
 * router.get("/projects/:id/events", contextHandlerFunc((ctx) => `project:${ctx.params.id}`));
 * ```
 */
export function contextHandlerFunc(
  topicsFn: TopicsFn<Context>,
  options?: HandlerOptions<Context>,
): Middleware {
  validateTopicsFn(topicsFn);
  validateOptions(options);
  const koaOptions = withKoaErrors(options);
  return (ctx) => serve(ctx, brokerFrom(ctx), () => topicsFn(ctx), koaOptions);
}

/**
 * Hands the raw request and response to core, which answers every case
 * (stream or error); koa is told not to answer too. Resolves when the stream
 * ends, so upstream middleware sees the final status.
 */
function serve(
  ctx: Context,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  options: HandlerOptions<Context>,
): Promise<void> {
  takeResponse(ctx);
  return serveEvents(ctx.req, ctx.res, broker, topics, options, ctx);
}
