/**
 * `@burrow/sse-core`: what an app uses (the broker, its handlers for
 * `node:http`, `node:http2` and fetch, request streams, the request context,
 * the wire encoder, errors, options and hooks). What only adapter and
 * backplane authors need is at `@burrow/sse-core/adapter` (src/adapter.ts).
 *
 * @packageDocumentation
 * @mergeModuleWith <project>
 */

export type {
  Authorize,
  HandlerOptions,
  OnError,
  RequestSnapshot,
} from "./admission/handler-options.js";
export type { Limits } from "./admission/limits.js";
export { DEFAULT_LIMITS } from "./admission/limits.js";
export type { StreamOptions } from "./admission/stream-plan.js";
export type {
  Backplane,
  BackplaneReport,
  BackplaneState,
  BackplaneStats,
} from "./backplane/backplane.js";
export type { PresenceMember } from "./backplane/backplane-presence.js";
export type { SSEBackplaneErrorKind, SSEField, SSEOptionErrorOptions } from "./base/errors.js";
export {
  SSEBackplaneError,
  SSECallbackError,
  SSEError,
  SSEFieldError,
  SSEMissingBrokerError,
  SSEOptionError,
} from "./base/errors.js";
export type { SlowClientPolicy } from "./base/slow-client-policy.js";
export { EventBroker } from "./broker/broker.js";
export type { BrokerOptions, SubscribeOptions } from "./broker/broker-options.js";
export { DEFAULT_BUFFER_SIZE, validateBrokerOptions } from "./broker/broker-options.js";
export type { BrokerStats } from "./broker/broker-stats.js";
export type { BrokerObserver, CloseReason, FanOut, RefusalReason } from "./broker/observer.js";
export { CLOSE_REASONS, REFUSAL_REASONS } from "./broker/observer.js";
export type { TopicPolicies } from "./broker/topic-rules.js";
export type { Client } from "./delivery/client.js";
export { DEFAULT_KEEPALIVE_MS, DEFAULT_RECONNECT_WINDOW_MS } from "./delivery/event-stream.js";
export { fetchHandler } from "./handlers/fetch-handler.js";
export { fetchStreamHandler } from "./handlers/fetch-stream-handler.js";
export type { NextFunction } from "./handlers/framework-hooks.js";
export type { SSEHandler } from "./handlers/node-handler.js";
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
  DEFAULT_MAX_MEMBER_DATA_BYTES,
  DEFAULT_PRESENCE_DEBOUNCE_MS,
  DEFAULT_PRESENCE_PREFIX,
  DEFAULT_PRESENCE_RENDER_INTERVAL_MS,
} from "./presence/presence-options.js";
export type { SSERequest, SSEResponse } from "./transport/sse-request.js";
export type { SSEEvent } from "./wire/encode.js";
export { encodeComment, encodeEvent } from "./wire/encode.js";
export type { SwapOption, SwapTarget } from "./wire/swap.js";
export { hxPartial } from "./wire/swap.js";
export type {
  ClientSnapshot,
  RepairReason,
  SnapshotRenderer,
  TopicKind,
  TopicPolicy,
} from "./wire/topic-policy.js";
export { REPAIR_REASONS } from "./wire/topic-policy.js";
export type { TopicMap, TopicOf, Topics, TopicsFn } from "./wire/topics.js";
