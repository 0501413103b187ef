import type { EventBroker, HandlerOptions, Topics, TopicsFn } from "@burrow/sse-core";
import * as core from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";

// An express request and response are node:http ones, and core's handlers
// are connect-style `(req, res, next)`: they are express handlers already,
// and these only type them for express (topic functions, `authorize` and
// `onError` receive express's `req`, with `req.params`). Core calls `next`
// only with a bug (see `onError`), once the client has its 500: never for a
// stream that ends or a client that leaves.

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
  return core.handler<Request>(broker, topics, options);
}

/**
 * An express handler whose topics depend on the request, e.g. a route
 * parameter. `topicsFn` may be async; one that throws an error with a
 * `status`/`statusCode` of 400–499 (e.g. 403) is answered that status; any
 * other error is answered a bare 500 and passed to `next(err)` (or
 * `options.onError`), so your error middleware sees it. Nothing is
 * subscribed either way.
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
  return core.handlerFunc<Request>(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker that `middleware` put on the
 * request; a request without one is answered 500 `sse: no broker on this
 * request: put middleware(broker) before this route`, and the
 * `SSEMissingBrokerError` goes to `next(err)` (or `options.onError`).
 *
 * @example
 * ```ts
 * app.use(middleware(broker));
 * app.get("/events", contextHandler("notifications"));
 * ```
 */
export function contextHandler(topics: Topics, options?: HandlerOptions<Request>): RequestHandler {
  return core.contextHandler<Request>(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker that `middleware` put on the
 * request; a request without one is answered 500 `sse: no broker on this
 * request: put middleware(broker) before this route`, and the
 * `SSEMissingBrokerError` goes to `next(err)` (or `options.onError`).
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
  return core.contextHandlerFunc<Request>(topicsFn, options);
}
