/**
 * `@burrow/sse-koa`: the koa layer of Burrow SSE. `middleware(broker)` puts
 * an `@burrow/sse-core` broker on every context; `handler`, `handlerFunc`,
 * `contextHandler` and `contextHandlerFunc` serve event streams from it,
 * `streamHandler` a request's own stream, and `fromNodeMiddleware` mounts a
 * `(req, res, next)` middleware. Every byte of stream logic lives in core;
 * this package only translates koa's context.
 *
 * @packageDocumentation
 */

export type {
  BrokerSource,
  HandlerOptions,
  NodeMiddleware,
  OnError,
  RequestStream,
  StreamOptions,
  StreamProducer,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
export { fromNodeMiddleware } from "./from-node-middleware.js";
export { contextHandler, contextHandlerFunc, handler, handlerFunc } from "./handlers.js";
export { brokerFrom, middleware, requireBroker } from "./middleware.js";
export { streamHandler } from "./stream-handler.js";
