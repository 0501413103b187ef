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
