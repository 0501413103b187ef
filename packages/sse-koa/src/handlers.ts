import type {
  EventBroker,
  HandlerOptions,
  TopicMap,
  TopicOf,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
import type { SwapKeys } from "@burrow/sse-core/adapter";
import type { Context, Middleware } from "koa";
import { koaHandlers } from "./binding.js";

/**
 * A koa middleware that streams `topics` from `broker` to every client.
 * Throws `SSEOptionError` at once for a bad broker, topic list or option.
 * On a typed broker (`new EventBroker<AppTopics>()`), `topics` must be
 * topics it declares, and a `swap` map may name only them.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * router.get("/events", handler(broker, ["notifications", "status"]));
 * ```
 */
export function handler<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topics: Topics<K>,
  options?: HandlerOptions<Context, SwapKeys<T, K>>,
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
 * On a typed broker, `topicsFn` must return topics it declares.
 *
 * @example
 * ```ts
 * router.get("/projects/:id/events", handlerFunc(broker, (ctx) => `project:${ctx.params.id}`));
 * ```
 */
export function handlerFunc<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topicsFn: TopicsFn<Context, K>,
  options?: HandlerOptions<Context, SwapKeys<T, K>>,
): Middleware {
  return koaHandlers.handlerFunc(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on
 * this request: put app.use(middleware(broker)) from @burrow/sse-koa before
 * this route`) rejects the middleware, into koa's error handling (with
 * `options.onError`: answered 500 and reported there).
 * The broker is known only per request: topics are unchecked unless the
 * app's topic map is given, `contextHandler<AppTopics>("notes")`.
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * router.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler<T extends TopicMap = TopicMap>(
  topics: Topics<TopicOf<T>>,
  options?: HandlerOptions<Context, TopicOf<T>>,
): Middleware {
  return koaHandlers.contextHandler(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on
 * this request: put app.use(middleware(broker)) from @burrow/sse-koa before
 * this route`) rejects the middleware, into koa's error handling (with
 * `options.onError`: answered 500 and reported there).
 * Topics are unchecked unless the app's topic map is given,
 * `contextHandlerFunc<AppTopics>((req) => ...)`.
 *
 * @example
 * ```ts
 * app.use(middleware(() => brokerFromRegistry(registry)));
 * router.get("/projects/:id/events", contextHandlerFunc((ctx) => `project:${ctx.params.id}`));
 * ```
 */
export function contextHandlerFunc<T extends TopicMap = TopicMap>(
  topicsFn: TopicsFn<Context, TopicOf<T>>,
  options?: HandlerOptions<Context, TopicOf<T>>,
): Middleware {
  return koaHandlers.contextHandlerFunc(topicsFn, options);
}
