import type {
  EventBroker,
  HandlerOptions,
  StreamOptions,
  StreamProducer,
  TopicMap,
  TopicOf,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
import type { SwapKeys } from "@burrow/sse-core/adapter";
import type { FastifyRequest, RouteHandlerMethod } from "fastify";
import { fastifyHandlers } from "./binding.js";

/**
 * A fastify route handler that streams `topics` from `broker` to every
 * client. Throws at once for an empty topic list or a bad option.
 * On a typed broker (`new EventBroker<AppTopics>()`), `topics` must be
 * topics it declares, and a `swap` map may name only them.
 *
 * @example
 * ```ts
 * fastify.get("/events", handler(broker, ["notifications", "status"]));
 * ```
 */
export function handler<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topics: Topics<K>,
  options?: HandlerOptions<FastifyRequest, SwapKeys<T, K>>,
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
 * On a typed broker, `topicsFn` must return topics it declares.
 *
 * @example
 * ```ts
 * fastify.get<{ Params: { id: string } }>(
 *   "/projects/:id/events",
 *   handlerFunc(broker, (request) => `project:${(request.params as { id: string }).id}`),
 * );
 * ```
 */
export function handlerFunc<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topicsFn: TopicsFn<FastifyRequest, K>,
  options?: HandlerOptions<FastifyRequest, SwapKeys<T, K>>,
): RouteHandlerMethod {
  return fastifyHandlers.handlerFunc(broker, topicsFn, options);
}

/**
 * Like {@link handler}, with the broker the plugin put on the request;
 * without one, an `SSEMissingBrokerError` (`sse: no broker on this request:
 * register the plugin, await fastify.register(ssePlugin, { broker }) from
 * @burrow/sse-fastify, before this route`) goes to fastify's error handler.
 * The broker is known only per request: topics are unchecked unless the
 * app's topic map is given, `contextHandler<AppTopics>("notes")`.
 */
export function contextHandler<T extends TopicMap = TopicMap>(
  topics: Topics<TopicOf<T>>,
  options?: HandlerOptions<FastifyRequest, TopicOf<T>>,
): RouteHandlerMethod {
  return fastifyHandlers.contextHandler(topics, options);
}

/**
 * Like {@link handlerFunc}, with the broker the plugin put on the request;
 * without one, the same `SSEMissingBrokerError` goes to fastify's error handler.
 * Topics are unchecked unless the app's topic map is given,
 * `contextHandlerFunc<AppTopics>((req) => ...)`.
 */
export function contextHandlerFunc<T extends TopicMap = TopicMap>(
  topicsFn: TopicsFn<FastifyRequest, TopicOf<T>>,
  options?: HandlerOptions<FastifyRequest, TopicOf<T>>,
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
