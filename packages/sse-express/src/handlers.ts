import type { EventBroker, HandlerOptions, Topics, TopicsFn } from "@burrow/sse-core";
import * as core from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";

// An express request and response are node:http ones, so core's handlers are
// express handlers already: these only type them for express (topic
// functions and `authorize` receive express's `req`, with `req.params`).
// Core never rejects and never calls `next`, so no error middleware runs
// when a client leaves.

/**
 * An express handler that streams `topics` from `broker` to every client.
 * Throws at once for an empty topic list or a bad option.
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
 * parameter. `topicsFn` may be async; one that throws answers 500 (or the
 * error's `status`/`statusCode`, e.g. 403) and subscribes nothing.
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
 * request; a request without one is answered 500 `sse: no broker in context`.
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
 * Like {@link handlerFunc}, with the broker that `middleware` put on
 * the request; a request without one is answered 500
 * `sse: no broker in context`.
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
