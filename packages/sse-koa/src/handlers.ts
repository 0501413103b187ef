import {
  type EventBroker,
  type HandlerOptions,
  serveEvents,
  type Topics,
  type TopicsFn,
  type TopicsSource,
  validateOptions,
  validateTopics,
} from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { brokerFrom } from "./middleware.js";

/**
 * A koa middleware that streams `topics` from `broker` to every client.
 * Throws at once for an empty topic list or a bad option.
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
  options: HandlerOptions<Context> = {},
): Middleware {
  const list = validateTopics(topics, options);
  return (ctx) => serve(ctx, broker, list, options);
}

/**
 * A koa middleware whose topics depend on the request: `topicsFn` receives
 * `ctx` (with `ctx.params` from `@koa/router`) and may be async; one that
 * throws answers 500 (or the error's `status`/`statusCode`, e.g. from
 * `ctx.throw(403)`) and subscribes nothing.
 *
 * @example
 * ```ts
 * router.get("/projects/:id/events", handlerFunc(broker, (ctx) => `project:${ctx.params.id}`));
 * ```
 */
export function handlerFunc(
  broker: EventBroker,
  topicsFn: TopicsFn<Context>,
  options: HandlerOptions<Context> = {},
): Middleware {
  validateOptions(options);
  return (ctx) => serve(ctx, broker, () => topicsFn(ctx), options);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; a request without one is answered 500 `sse: no broker in context`.
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * router.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler(topics: Topics, options: HandlerOptions<Context> = {}): Middleware {
  const list = validateTopics(topics, options);
  return (ctx) => serve(ctx, brokerFrom(ctx), list, options);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; a request without one is answered 500 `sse: no broker in context`.
 *
 * @example
 * ```ts
 * app.use(middleware(() => brokerFromRegistry(registry)));
 * router.get("/projects/:id/events", contextHandlerFunc((ctx) => `project:${ctx.params.id}`));
 * ```
 */
export function contextHandlerFunc(
  topicsFn: TopicsFn<Context>,
  options: HandlerOptions<Context> = {},
): Middleware {
  validateOptions(options);
  return (ctx) => serve(ctx, brokerFrom(ctx), () => topicsFn(ctx), options);
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
  ctx.respond = false;
  return serveEvents(ctx.req, ctx.res, broker, topics, options, ctx);
}
