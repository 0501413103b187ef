/**
 * `@burrow/sse-express`: the express layer of Burrow SSE. `middleware(broker)`
 * puts an `@burrow/sse-core` broker on every request; `handler`,
 * `handlerFunc`, `contextHandler` and `contextHandlerFunc` serve event
 * streams from it, and `streamHandler` a request's own stream. Every byte of
 * stream logic lives in core; this package only translates express's
 * request and response.
 *
 * @packageDocumentation
 */

export type {
  BrokerSource,
  HandlerOptions,
  OnError,
  RequestStream,
  StreamOptions,
  StreamProducer,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
export { contextHandler, contextHandlerFunc, handler, handlerFunc } from "./handlers.js";
export { brokerFrom, middleware, requireBroker } from "./middleware.js";
export { streamHandler } from "./stream-handler.js";
