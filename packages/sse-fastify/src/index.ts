/**
 * `@burrow/sse-fastify`: the fastify layer of Burrow SSE. `ssePlugin` puts an
 * `@burrow/sse-core` broker on every request; `handler`, `handlerFunc`,
 * `contextHandler` and `contextHandlerFunc` are route handlers that stream
 * its topics, and `streamHandler` a request's own stream. Every byte of
 * stream logic lives in core; this package only translates fastify's
 * request and reply.
 *
 * @packageDocumentation
 */

export type {
  BrokerSource,
  HandlerOptions,
  RequestStream,
  StreamOptions,
  StreamProducer,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
export {
  contextHandler,
  contextHandlerFunc,
  handler,
  handlerFunc,
  streamHandler,
} from "./handlers.js";
export type { SSEPluginOptions } from "./plugin.js";
export { brokerFrom, middleware, requireBroker, ssePlugin } from "./plugin.js";
