import type { EventBroker, HandlerOptions, Topics, TopicsFn } from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";
import { expressHandlers } from "./binding.js";

// Built by core from express's binding (binding.ts): topic functions,
// `authorize` and `onError` receive express's `req`, with `req.params`. A
// bug before the stream starts goes to `next(err)` with nothing answered;
// never a stream that ends or a client that leaves.

/**
 * An express handler that streams `topics` from `broker` to every client.
 * Throws `SSEOptionError` at once for a bad broker, topic list or option.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * app.get("/events", handler(broker, ["notifications", "status"]));
 * ```
 */
export function handler(
  broker: EventBroker,
  topics: Topics,
  options?: HandlerOptions<Request>,
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
 *
 * @example
 * ```ts
 * app.get("/projects/:id/events", handlerFunc(broker, (req) => `project:${req.params.id}`));
 * ```
 */
export function handlerFunc(
  broker: EventBroker,
  topicsFn: TopicsFn<Request>,
  options?: HandlerOptions<Request>,
): RequestHandler {
  return expressHandlers.handlerFunc(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on this
 * request: put app.use(middleware(broker)) from @burrow/sse-express before
 * this route`) goes to `next(err)`, nothing answered (with
 * `options.onError`: answered 500 and reported there).
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * app.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler(topics: Topics, options?: HandlerOptions<Request>): RequestHandler {
  return expressHandlers.contextHandler(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; without one, an `SSEMissingBrokerError` (`sse: no broker on this
 * request: put app.use(middleware(broker)) from @burrow/sse-express before
 * this route`) goes to `next(err)`, nothing answered (with
 * `options.onError`: answered 500 and reported there).
 *
 * @example
 * ```ts
 * app.use(middleware(() => brokerFromRegistry(registry)));
 * app.get("/projects/:id/events", contextHandlerFunc((req) => `project:${req.params.id}`));
 * ```
 */
export function contextHandlerFunc(
  topicsFn: TopicsFn<Request>,
  options?: HandlerOptions<Request>,
): RequestHandler {
  return expressHandlers.contextHandlerFunc(topicsFn, options);
}
