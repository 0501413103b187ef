export type {
  Backplane,
  BackplaneEvent,
  BackplaneHost,
  BackplaneReplay,
  BackplaneReport,
  BackplaneState,
  BackplaneStats,
} from "./backplane.js";
export type {
  BackplanePresence,
  PresenceHost,
  PresenceMember,
  PresenceSync,
} from "./backplane-presence.js";
export { EventBroker } from "./broker.js";
export type { BrokerOptions, SubscribeOptions } from "./broker-options.js";
export { DEFAULT_BUFFER_SIZE, validateBrokerOptions } from "./broker-options.js";
export type { BrokerStats } from "./broker-stats.js";
export type { Client } from "./client.js";
export type { SSEEvent } from "./encode.js";
export { encodeComment, encodeEvent } from "./encode.js";
export type { SSEBackplaneErrorKind, SSEField, SSEOptionErrorOptions } from "./errors.js";
export {
  SSEBackplaneError,
  SSECallbackError,
  SSEError,
  SSEFieldError,
  SSEMissingBrokerError,
  SSEOptionError,
} from "./errors.js";
export { DEFAULT_KEEPALIVE_MS, DEFAULT_RECONNECT_WINDOW_MS } from "./event-stream.js";
export { fetchHandler } from "./fetch-handler.js";
export { fetchStreamHandler } from "./fetch-stream-handler.js";
export type { Authorize, HandlerOptions, OnError } from "./handler-options.js";
export type { Limits } from "./limits.js";
export { DEFAULT_LIMITS } from "./limits.js";
export type { NextFunction, SSEHandler } from "./node-handler.js";
export {
  contextHandler,
  contextHandlerFunc,
  handler,
  handlerFunc,
} from "./node-handler.js";
export type { BrokerObserver, CloseReason, FanOut, RefusalReason } from "./observer.js";
export { CLOSE_REASONS, REFUSAL_REASONS } from "./observer.js";
export type { PresenceChange, PresenceIdentity, PresenceOptions } from "./presence-options.js";
export { DEFAULT_PRESENCE_DEBOUNCE_MS, DEFAULT_PRESENCE_PREFIX } from "./presence-options.js";
export type { BrokerSource, NodeMiddleware } from "./request-context.js";
export {
  brokerFrom,
  brokerMiddleware,
  requireBroker,
  withBroker,
} from "./request-context.js";
export type { RequestStream, StreamProducer } from "./request-stream.js";
export { streamHandler } from "./request-stream.js";
export { RingBuffer } from "./ring-buffer.js";
export type { SlowClientPolicy } from "./slow-client-policy.js";
export type { SSERequest, SSEResponse } from "./sse-request.js";
export type { StreamOptions } from "./stream-plan.js";
export type { SwapOption, SwapTarget } from "./swap.js";
export { hxPartial } from "./swap.js";
export type { Topics, TopicsFn } from "./topics.js";

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
