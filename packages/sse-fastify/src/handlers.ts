import type {
  EventBroker,
  HandlerOptions,
  StreamOptions,
  StreamProducer,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
import type { FastifyRequest, RouteHandlerMethod } from "fastify";
import { fastifyHandlers } from "./binding.js";

/**
 * A fastify route handler that streams `topics` from `broker` to every
 * client. Throws at once for an empty topic list or a bad option.
 *
 * @example
 * ```ts
 * fastify.get("/events", handler(broker, ["notifications", "status"]));
 * ```
 */
export function handler(
  broker: EventBroker,
  topics: Topics,
  options?: HandlerOptions<FastifyRequest>,
): RouteHandlerMethod {
  return fastifyHandlers.handler(broker, topics, options);
}

/**
 * A fastify route handler whose topics depend on the request, e.g. a route
 * parameter (`request.params`). `topicsFn` may be async; an error with a
 * `status`/`statusCode` of 400–499 answers that status; any other error
 * rejects the route with nothing answered, so fastify's error handler (your
 * `setErrorHandler`, or fastify's own, which logs it) answers it; with
 * `options.onError`, it is answered a bare 500 and goes there instead.
 * Nothing is subscribed either way.
 *
 * @example
 * ```ts
 * fastify.get<{ Params: { id: string } }>(
 *   "/projects/:id/events",
 *   handlerFunc(broker, (request) => `project:${(request.params as { id: string }).id}`),
 * );
 * ```
 */
export function handlerFunc(
  broker: EventBroker,
  topicsFn: TopicsFn<FastifyRequest>,
  options?: HandlerOptions<FastifyRequest>,
): RouteHandlerMethod {
  return fastifyHandlers.handlerFunc(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker the plugin put on the request;
 * without one, an `SSEMissingBrokerError` (`sse: no broker on this request:
 * register the plugin, await fastify.register(ssePlugin, { broker }) from
 * @burrow/sse-fastify, before this route`) goes to fastify's error handler.
 */
export function contextHandler(
  topics: Topics,
  options?: HandlerOptions<FastifyRequest>,
): RouteHandlerMethod {
  return fastifyHandlers.contextHandler(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker the plugin put on the request;
 * without one, the same `SSEMissingBrokerError` goes to fastify's error handler.
 */
export function contextHandlerFunc(
  topicsFn: TopicsFn<FastifyRequest>,
  options?: HandlerOptions<FastifyRequest>,
): RouteHandlerMethod {
  return fastifyHandlers.contextHandlerFunc(topicsFn, options);
}

/**
 * A fastify route whose answer is an event stream of its own, written by
 * `produce(stream, request)`: one request's progress and result (htmx 4
 * streams the answer of an `hx-post` into its target), not a broker
 * subscription. Core's `streamHandler`, typed for fastify: an `authorize`
 * that throws a bug goes to fastify's error handler, nothing answered; a
 * producer runs once the stream's head is sent, so one that throws ends the
 * stream and goes to fastify's logger (or `options.onError`).
 *
 * @example
 * ```ts
 * fastify.post("/reports", streamHandler(async (stream) => {
 *   await stream.send({ data: "<progress></progress>" });
 *   await stream.send({ data: "<p>Report ready</p>" });
 * }));
 * ```
 */
export function streamHandler(
  produce: StreamProducer<FastifyRequest>,
  options?: StreamOptions<FastifyRequest>,
): RouteHandlerMethod {
  return fastifyHandlers.streamHandler(produce, options);
}
