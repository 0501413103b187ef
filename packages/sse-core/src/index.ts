export type { Authorize, HandlerOptions, OnError } from "./admission/handler-options.js";
export type { Limits } from "./admission/limits.js";
export { DEFAULT_LIMITS } from "./admission/limits.js";
export type { StreamOptions } from "./admission/stream-plan.js";
export type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  BackplaneReplay,
  BackplaneReport,
  BackplaneState,
  BackplaneStats,
} from "./backplane/backplane.js";
export type {
  BackplanePresence,
  PresenceHost,
  PresenceMember,
  PresenceSync,
} from "./backplane/backplane-presence.js";
export type { SSEBackplaneErrorKind, SSEField, SSEOptionErrorOptions } from "./base/errors.js";
export {
  SSEBackplaneError,
  SSECallbackError,
  SSEError,
  SSEFieldError,
  SSEMissingBrokerError,
  SSEOptionError,
} from "./base/errors.js";
export { RingBuffer } from "./base/ring-buffer.js";
export type { SlowClientPolicy } from "./base/slow-client-policy.js";
export { EventBroker } from "./broker/broker.js";
export type { BrokerOptions, SubscribeOptions } from "./broker/broker-options.js";
export { DEFAULT_BUFFER_SIZE, validateBrokerOptions } from "./broker/broker-options.js";
export type { BrokerStats } from "./broker/broker-stats.js";
export type { BrokerObserver, CloseReason, FanOut, RefusalReason } from "./broker/observer.js";
export { CLOSE_REASONS, REFUSAL_REASONS } from "./broker/observer.js";
export type { Client } from "./delivery/client.js";
export { DEFAULT_KEEPALIVE_MS, DEFAULT_RECONNECT_WINDOW_MS } from "./delivery/event-stream.js";
export { fetchHandler } from "./handlers/fetch-handler.js";
export { fetchStreamHandler } from "./handlers/fetch-stream-handler.js";
export type { NextFunction, SSEHandler } from "./handlers/node-handler.js";
export {
  contextHandler,
  contextHandlerFunc,
  handler,
  handlerFunc,
} from "./handlers/node-handler.js";
export type { BrokerSource, NodeMiddleware } from "./handlers/request-context.js";
export {
  brokerFrom,
  brokerMiddleware,
  requireBroker,
  withBroker,
} from "./handlers/request-context.js";
export type { RequestStream, StreamProducer } from "./handlers/request-stream.js";
export { streamHandler } from "./handlers/request-stream.js";
export type {
  PresenceChange,
  PresenceIdentity,
  PresenceOptions,
} from "./presence/presence-options.js";
export {
  DEFAULT_PRESENCE_DEBOUNCE_MS,
  DEFAULT_PRESENCE_PREFIX,
} from "./presence/presence-options.js";
export type { SSERequest, SSEResponse } from "./transport/sse-request.js";
export type { SSEEvent } from "./wire/encode.js";
export { encodeComment, encodeEvent } from "./wire/encode.js";
export type { SwapOption, SwapTarget } from "./wire/swap.js";
export { hxPartial } from "./wire/swap.js";
export type { TopicMap, TopicOf, Topics, TopicsFn } from "./wire/topics.js";

// The adapter-author API, kept here so that existing imports still work.
// Adapters import it from "@burrow/sse-core/adapter" (src/adapter.ts); a
// test in packages/published-shape fails when one imports it from here.
import * as adapter from "./adapter.js";

/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export type TopicsSource = adapter.TopicsSource;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const serveEvents: typeof adapter.serveEvents = adapter.serveEvents;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const validateOptions: typeof adapter.validateOptions = adapter.validateOptions;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const validateTopics: typeof adapter.validateTopics = adapter.validateTopics;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const validateTopicsFn: typeof adapter.validateTopicsFn = adapter.validateTopicsFn;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const validateBroker: typeof adapter.validateBroker = adapter.validateBroker;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const resolveBroker: typeof adapter.resolveBroker = adapter.resolveBroker;
/** @deprecated Import from "@burrow/sse-core/adapter": adapter-author API. */
export const withOnError: typeof adapter.withOnError = adapter.withOnError;
