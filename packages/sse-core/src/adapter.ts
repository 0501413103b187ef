/**
 * `@burrow/sse-core/adapter`: what a framework adapter or a backplane needs
 * beyond the user API (`@burrow/sse-core`), and only here.
 *
 * An adapter is a {@link FrameworkBinding} handed to
 * {@link frameworkHandlers}, which builds the framework's handler set: how
 * to read the framework's arguments, how it takes over a response
 * (`takeOver`), and how a bug before anything was answered reaches the
 * framework's own error handling (`propagate`: express's `next(err)`, koa's
 * middleware chain, fastify's `setErrorHandler`). Lower down,
 * {@link serveEvents} serves one request with the same hooks, and the
 * `validate*` functions check arguments when a handler is created.
 *
 * A backplane implements the root's `Backplane` against a
 * {@link BackplaneHost}; one that shares presence builds on
 * {@link SharedPresence} and {@link mergePresence}. An engine delivers its
 * global order with {@link OrderedDelivery} (over {@link GlobalOrder}, with
 * the catch-up after a cut), derives its state with
 * {@link nextBackplaneState}, settles `ready()` calls with
 * {@link Readiness}, shares its replays' reads with {@link SharedReads} and
 * {@link sharedReplay} (in a {@link ReplayQueue} under an
 * {@link AdaptiveLimit}, built by {@link resumeReads}, and one
 * {@link SharedBarrier} for them), all composed by {@link BackplaneResumes} (its `replay` and `last`), reports
 * its `stats()` with {@link engineStats}, logs its link with {@link LinkLog}, writes and reads ids with
 * {@link formatEventId} and {@link parseEventId}, decodes stored events with
 * {@link parseEventJson}, checks its options with {@link loggerOption} and
 * {@link positiveIntegerOption}, and rejects unknown option keys with
 * {@link checkKeys} over a list that {@link optionKeys} ties to its options
 * type.
 *
 * Types exported by both entry points (`SSERequest`, `SSEResponse`,
 * `NextFunction`) are the same types, and every function here is the one
 * core itself calls, so a value from one entry point works with the other.
 *
 * @example
 * ```ts
 * import { frameworkHandlers } from "@burrow/sse-core/adapter";
 *
 * // express-style (req, res, next): a bug goes to next(err), nothing answered.
 * export const { handler, handlerFunc, streamHandler } = frameworkHandlers({
 *   read: (req, res) => ({ req, res, subject: req }),
 *   hooks: () => ({ propagate: true, noBrokerFix: "put app.use(middleware(broker)) before this route" }),
 *   settle: (served, _req, _res, next) => void served.catch(next),
 * });
 * ```
 *
 * @module @burrow/sse-core/adapter
 */

export { withOnError } from "./admission/handler-options.js";
export type { AdaptiveLimitOptions } from "./backplane/adaptive-limit.js";
export { AdaptiveLimit } from "./backplane/adaptive-limit.js";
export type {
  BackplaneEvent,
  BackplaneHost,
  BackplaneReplay,
} from "./backplane/backplane.js";
export type { OrderedEvent } from "./backplane/backplane-kit.js";
export { GlobalOrder, nextBackplaneState, parseEventJson } from "./backplane/backplane-kit.js";
export type { BackplaneLogger } from "./backplane/backplane-options.js";
export { loggerOption, positiveIntegerOption } from "./backplane/backplane-options.js";
export type {
  BackplanePresence,
  PresenceHost,
  PresenceSync,
} from "./backplane/backplane-presence.js";
export type { ResumeEngine } from "./backplane/backplane-resumes.js";
export { BackplaneResumes } from "./backplane/backplane-resumes.js";
export type {
  BackplaneEngineStats,
  EngineParts,
  OrderCounters,
  ResumeCounters,
} from "./backplane/engine-stats.js";
export { engineStats } from "./backplane/engine-stats.js";
export { formatEventId, formatOrigin, ownNonce, parseEventId } from "./backplane/event-id.js";
export { LinkLog } from "./backplane/link-log.js";
export type {
  CatchUpSteps,
  MissedEvent,
  OrderedDeliveryHooks,
} from "./backplane/ordered-delivery.js";
export { OrderedDelivery } from "./backplane/ordered-delivery.js";
export { BURST_FACTOR, PendingBound, stallCheckMs } from "./backplane/pending-bound.js";
export type { ReadyVerdict } from "./backplane/readiness.js";
export { DEFAULT_READY_TIMEOUT_MS, MAX_TIMER_MS, Readiness } from "./backplane/readiness.js";
export { RecentPublishes } from "./backplane/recent-publishes.js";
export type { TurnLimit } from "./backplane/replay-queue.js";
export { ReplayQueue } from "./backplane/replay-queue.js";
export type { ResumeReads } from "./backplane/resume-reads.js";
export { resumeReads } from "./backplane/resume-reads.js";
export { SharedBarrier } from "./backplane/shared-barrier.js";
export type { PresenceEngine, PresenceRow } from "./backplane/shared-presence.js";
export { mergePresence, SharedPresence } from "./backplane/shared-presence.js";
export type {
  RangeEntry,
  RangeReader,
  RangeSlice,
  TopicRange,
} from "./backplane/shared-reads.js";
export { SharedReads } from "./backplane/shared-reads.js";
export { sharedReplay } from "./backplane/shared-replay.js";
export type { StormHoldOptions } from "./backplane/storm-hold.js";
export { StormHold } from "./backplane/storm-hold.js";
export { checkKeys, optionKeys } from "./base/option-checks.js";
export { RingBuffer } from "./base/ring-buffer.js";
export { within } from "./base/within.js";
export {
  validateBroker,
  validateOptions,
  validateTopics,
  validateTopicsFn,
} from "./handlers/argument-checks.js";
export type {
  FrameworkBinding,
  FrameworkHandlers,
  HandlerKind,
} from "./handlers/framework-handlers.js";
export { frameworkHandlers } from "./handlers/framework-handlers.js";
export type { FrameworkHooks, NextFunction } from "./handlers/framework-hooks.js";
export { resolveBroker } from "./handlers/request-context.js";
export { serveEvents } from "./handlers/serve-events.js";
export type { SSERequest, SSEResponse } from "./transport/sse-request.js";
export type { SwapKeys } from "./wire/swap.js";
export type { TopicsSource } from "./wire/topics.js";
