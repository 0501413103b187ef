/**
 * `@burrow/sse-core/adapter`: what a framework adapter needs beyond the user
 * API. An adapter is a {@link FrameworkBinding} handed to
 * {@link frameworkHandlers}, which builds the framework's handler set: how
 * to read the framework's arguments, how it takes over a response
 * (`takeOver`), and how a bug before anything was answered reaches the
 * framework's own error handling (`propagate`: express's `next(err)`, koa's
 * middleware chain, fastify's `setErrorHandler`). Lower down,
 * {@link serveEvents} serves one request with the same hooks, and the
 * `validate*` functions check arguments when a handler is created. A
 * backplane that shares presence
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
 * @packageDocumentation
 */

export { withOnError } from "./admission/handler-options.js";
export type { OrderedEvent } from "./backplane/backplane-kit.js";
export { GlobalOrder, nextBackplaneState, parseEventJson } from "./backplane/backplane-kit.js";
export type { PresenceEngine, PresenceRow } from "./backplane/shared-presence.js";
export { mergePresence, SharedPresence } from "./backplane/shared-presence.js";
export { checkKeys } from "./base/option-checks.js";
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
export type { FrameworkHooks } from "./handlers/framework-hooks.js";
export type { NextFunction } from "./handlers/node-handler.js";
export { serveEvents } from "./handlers/node-handler.js";
export { resolveBroker } from "./handlers/request-context.js";
export type { SSERequest, SSEResponse } from "./transport/sse-request.js";
export type { SwapKeys } from "./wire/swap.js";
export type { TopicsSource } from "./wire/topics.js";
