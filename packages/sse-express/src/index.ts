export type {
  BrokerSource,
  HandlerOptions,
  RequestStream,
  StreamOptions,
  StreamProducer,
  Topics,
  TopicsFn,
} from "@burrow/sse-core";
export { contextHandler, contextHandlerFunc, handler, handlerFunc } from "./handlers.js";
export { brokerFrom, middleware } from "./middleware.js";
export { streamHandler } from "./stream-handler.js";
