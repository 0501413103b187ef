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
