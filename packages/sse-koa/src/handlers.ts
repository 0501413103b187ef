import type { EventBroker, HandlerOptions, Topics, TopicsFn } from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { koaHandlers } from "./binding.js";

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
  return koaHandlers.handler(broker, topics, options);
}

/**
 * A koa middleware whose topics depend on the request: `topicsFn` receives
 * `ctx` (with `ctx.params` from `@koa/router`) and may be async. One that
 * throws an error with a `status`/`statusCode` of 400–499 (e.g. from
 * `ctx.throw(403)`) is answered that status; any other error rejects this
 * middleware with nothing answered, so it travels koa's middleware chain
 * (your `try { await next() } catch`) to `ctx.onerror`, which answers it;
 * with `options.onError`, it is answered a bare 500 and goes there instead.
 * Nothing is subscribed either way.
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
  return koaHandlers.handlerFunc(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on
 * this request: put app.use(middleware(broker)) from @burrow/sse-koa before
 * this route`) rejects the middleware, into koa's error handling (with
 * `options.onError`: answered 500 and reported there).
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * router.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler(topics: Topics, options?: HandlerOptions<Context>): Middleware {
  return koaHandlers.contextHandler(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on
 * this request: put app.use(middleware(broker)) from @burrow/sse-koa before
 * this route`) rejects the middleware, into koa's error handling (with
 * `options.onError`: answered 500 and reported there).
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
  return koaHandlers.contextHandlerFunc(topicsFn, options);
}
