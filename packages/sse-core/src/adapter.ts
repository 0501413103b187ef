/**
 * `@burrow/sse-core/adapter`: what a framework adapter needs beyond the user
 * API. An adapter translates its framework's request into one
 * {@link serveEvents} call per stream, checks its arguments up front with the
 * `validate*` functions when a handler is created, and routes bugs to its
 * framework with {@link withOnError}. A backplane that shares presence
 * builds on {@link SharedPresence} and {@link mergePresence}. A backplane
 * engine delivers its global order with {@link GlobalOrder}, derives its
 * state with {@link nextBackplaneState}, decodes stored events with
 * {@link parseEventJson} and rejects unknown option keys with
 * {@link checkKeys}; these exist only here. Everything else here is a
 * re-export of the very same functions and types the root entry point has
 * always exported (the root keeps them, deprecated there), so a value from
 * one entry point works with the other.
 *
 * @example
 * ```ts
 * import { serveEvents, validateBroker, validateTopics } from "@burrow/sse-core/adapter";
 *
 * export function handler(broker, topics, options) {
 *   validateBroker(broker);
 *   const list = validateTopics(topics, options);
 *   return (ctx) => serveEvents(ctx.req, ctx.res, broker, list, options, ctx);
 * }
 * ```
 *
 * @packageDocumentation
 */

export type { OrderedEvent } from "./backplane-kit.js";
export { GlobalOrder, nextBackplaneState, parseEventJson } from "./backplane-kit.js";
export type { NextFunction, SSERequest, SSEResponse, TopicsSource } from "./node-handler.js";
export {
  serveEvents,
  validateBroker,
  validateOptions,
  validateTopics,
  validateTopicsFn,
} from "./node-handler.js";
export { checkKeys } from "./option-checks.js";
export { withOnError } from "./options.js";
export { resolveBroker } from "./request-context.js";
export type { PresenceEngine, PresenceRow } from "./shared-presence.js";
export { mergePresence, SharedPresence } from "./shared-presence.js";
