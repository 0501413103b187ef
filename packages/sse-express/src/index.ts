export type { BrokerSource, HandlerOptions, Topics, TopicsFn } from "@burrow/sse-core";
export { contextHandler, contextHandlerFunc, handler, handlerFunc } from "./handlers.js";
export { brokerFrom, middleware } from "./middleware.js";
