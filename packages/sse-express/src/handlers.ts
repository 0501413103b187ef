import type {
  EventBroker,
  HandlerOptions,
  TopicMap,
  TopicOf,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
import type { SwapKeys } from "@burrow/sse-core/adapter";
import type { Request, RequestHandler } from "express";
import { expressHandlers } from "./binding.js";

// Built by core from express's binding (binding.ts): topic functions,
// `authorize` and `onError` receive express's `req`, with `req.params`. A
// bug before the stream starts goes to `next(err)` with nothing answered;
// never a stream that ends or a client that leaves.

/**
 * An express handler that streams `topics` from `broker` to every client.
 * Throws `SSEOptionError` at once for a bad broker, topic list or option.
 * On a typed broker (`new EventBroker<AppTopics>()`), `topics` must be
 * topics it declares, and a `swap` map may name only them.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * app.get("/events", handler(broker, ["notifications", "status"]));
 * ```
 */
export function handler<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topics: Topics<K>,
  options?: HandlerOptions<Request, SwapKeys<T, K>>,
): RequestHandler {
  return expressHandlers.handler(broker, topics, options);
}

/**
 * An express handler whose topics depend on the request, e.g. a route
 * parameter. `topicsFn` may be async; one that throws an error with a
 * `status`/`statusCode` of 400–499 (e.g. 403) is answered that status; any
 * other error is passed to `next(err)` with nothing answered, so your error
 * middleware (or express's final handler) answers it; with
 * `options.onError`, it is answered a bare 500 and goes there instead.
 * Nothing is subscribed either way.
 * On a typed broker, `topicsFn` must return topics it declares.
 *
 * @example
 * ```ts
 * app.get("/projects/:id/events", handlerFunc(broker, (req) => `project:${req.params.id}`));
 * ```
 */
export function handlerFunc<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topicsFn: TopicsFn<Request, K>,
  options?: HandlerOptions<Request, SwapKeys<T, K>>,
): RequestHandler {
  return expressHandlers.handlerFunc(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on this
 * request: put app.use(middleware(broker)) from @burrow/sse-express before
 * this route`) goes to `next(err)`, nothing answered (with
 * `options.onError`: answered 500 and reported there).
 * The broker is known only per request: topics are unchecked unless the
 * app's topic map is given, `contextHandler<AppTopics>("notes")`.
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * app.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler<T extends TopicMap = TopicMap>(
  topics: Topics<TopicOf<T>>,
  options?: HandlerOptions<Request, TopicOf<T>>,
): RequestHandler {
  return expressHandlers.contextHandler(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on this
 * request: put app.use(middleware(broker)) from @burrow/sse-express before
 * this route`) goes to `next(err)`, nothing answered (with
 * `options.onError`: answered 500 and reported there).
 * Topics are unchecked unless the app's topic map is given,
 * `contextHandlerFunc<AppTopics>((req) => ...)`.
 *
 * @example
 * ```ts
 * app.use(middleware(() => brokerFromRegistry(registry)));
 * app.get("/projects/:id/events", contextHandlerFunc((req) => `project:${req.params.id}`));
 * ```
 */
export function contextHandlerFunc<T extends TopicMap = TopicMap>(
  topicsFn: TopicsFn<Request, TopicOf<T>>,
  options?: HandlerOptions<Request, TopicOf<T>>,
): RequestHandler {
  return expressHandlers.contextHandlerFunc(topicsFn, options);
}
