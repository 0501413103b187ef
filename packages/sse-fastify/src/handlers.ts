import {
  streamHandler as coreStreamHandler,
  type EventBroker,
  type HandlerOptions,
  type StreamOptions,
  type StreamProducer,
  type Topics,
  type TopicsFn,
} from "@burrow/sse-core";
import {
  serveEvents,
  type TopicsSource,
  validateBroker,
  validateOptions,
  validateTopics,
  validateTopicsFn,
  withOnError,
} from "@burrow/sse-core/adapter";
import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import { brokerFrom } from "./plugin.js";

type ErrorHook = (error: unknown, request: FastifyRequest) => void;

/**
 * Where a bug goes by default (a topic function or `authorize` that threw,
 * a missing broker, a producer that failed): fastify's logger, as fastify
 * itself reports errors of a reply it no longer owns (`reply.hijack()`); a
 * fastify created without a logger gets one `console.error` line instead,
 * never silence.
 */
function fastifyReport(what: string): ErrorHook {
  return (error, request) => {
    // A fastify without a logger has one whose methods do nothing, and no level.
    if (typeof request.log.level === "string" && request.log.level !== "silent") {
      request.log.error({ err: error }, `sse: ${what}`);
    } else {
      console.error(`sse: ${what} (${request.method} ${request.url}):`, error);
    }
  };
}

const reportStreamError = fastifyReport("could not serve an event stream");
const reportProducerError = fastifyReport("a stream producer failed");

// Core writes the response on `reply.raw`; `reply.hijack()` tells fastify
// not to answer too (nor to time the stream out as a slow reply).

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
  validateBroker(broker);
  const list = validateTopics(topics, options);
  const plan = withOnError(options, reportStreamError);
  return (request, reply) => serve(request, reply, broker, list, plan);
}

/**
 * A fastify route handler whose topics depend on the request, e.g. a route
 * parameter (`request.params`). `topicsFn` may be async; an error with a
 * `status`/`statusCode` answers that status, and nothing is subscribed.
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
  validateBroker(broker);
  validateTopicsFn(topicsFn);
  validateOptions(options);
  const plan = withOnError(options, reportStreamError);
  return (request, reply) => serve(request, reply, broker, () => topicsFn(request), plan);
}

/**
 * Like {@link handler}, with the broker the plugin put on the request; a
 * request without one is answered 500 `sse: no broker in context`.
 */
export function contextHandler(
  topics: Topics,
  options?: HandlerOptions<FastifyRequest>,
): RouteHandlerMethod {
  const list = validateTopics(topics, options);
  const plan = withOnError(options, reportStreamError);
  return (request, reply) => serve(request, reply, brokerFrom(request), list, plan);
}

/**
 * Like {@link handlerFunc}, with the broker the plugin put on the request; a
 * request without one is answered 500 `sse: no broker in context`.
 */
export function contextHandlerFunc(
  topicsFn: TopicsFn<FastifyRequest>,
  options?: HandlerOptions<FastifyRequest>,
): RouteHandlerMethod {
  validateTopicsFn(topicsFn);
  validateOptions(options);
  const plan = withOnError(options, reportStreamError);
  return (request, reply) =>
    serve(request, reply, brokerFrom(request), () => topicsFn(request), plan);
}

/**
 * A fastify route whose answer is an event stream of its own, written by
 * `produce(stream, request)`: one request's progress and result (htmx 4
 * streams the answer of an `hx-post` into its target), not a broker
 * subscription. Core's `streamHandler`, typed for fastify.
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
  const serveStream = coreStreamHandler<FastifyRequest>(
    produce,
    withOnError(options, reportProducerError),
  );
  return (request, reply) => {
    reply.hijack();
    return serveStream(request.raw, reply.raw, request);
  };
}

function serve(
  request: FastifyRequest,
  reply: FastifyReply,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  options: HandlerOptions<FastifyRequest>,
): Promise<void> {
  reply.hijack();
  return serveEvents(request.raw, reply.raw, broker, topics, options, request);
}
