import type { Limits } from "./limits.js";
import type { SSERequest } from "./node-handler.js";
import type { PresenceIdentity } from "./presence.js";
import type { SwapOption } from "./swap.js";

/**
 * Decides whether a request may watch `topics`: false answers 403; a thrown
 * error with a `status` or `statusCode` answers that status. Sync or async.
 * `R` is what the handler serves: a `node:http` request, express's `req`,
 * koa's `ctx`, or a fetch `Request`.
 */
export type Authorize<R> = (req: R, topics: readonly string[]) => boolean | Promise<boolean>;

/** Options every handler accepts (core's and every adapter's). */
export interface HandlerOptions<R = SSERequest> extends Limits {
  /**
   * Interval of the `:keepalive` comment that stops proxies from closing an
   * idle stream, in milliseconds; 0 turns it off.
   * @default 30000
   */
  keepaliveMs?: number;
  /**
   * Called with the request and its topics before anything is subscribed.
   * @default undefined (everyone may watch every topic the handler serves)
   */
  authorize?: Authorize<R>;
  /**
   * When the broker closes (shutdown), each stream is sent a `retry:` of a
   * random number of milliseconds below this before it ends, so thousands of
   * browsers do not reconnect in the same second. 0 sends none.
   * @default 5000
   */
  reconnectWindowMs?: number;
  /**
   * Sends events as htmx 4's `hx-sse` swaps them: as unnamed messages (htmx 4
   * swaps only those; a named event becomes a DOM event on the element).
   * - `true`: every event whose `type` is its topic (the default type) goes
   *   out without an `event:` line, and htmx 4 swaps it into the stream
   *   element's target with its `hx-swap`.
   * - a map of topic to target (`{ notes: { target: "#notes", swap: "beforeend" },
   *   status: "#status" }`): the events of those topics are also wrapped in
   *   `<hx-partial hx-target="…" hx-swap="…">`, so each topic lands in its own
   *   target from one stream; other topics' events go out unnamed as with `true`.
   *
   * Events published with a `type` of their own stay named either way, for
   * `hx-trigger` and `hx-sse:close`. Each event is encoded once per format,
   * not once per client, so htmx 2 and htmx 4 pages share one broker.
   * @default undefined (every event is named: `event: <type>`, for htmx 2's
   *   `sse-swap` and `EventSource` listeners)
   */
  swap?: SwapOption;
  /**
   * Who a connection is, for presence: called with the request once it is
   * authorized; the stream then joins each of its topics as this member
   * (see `broker.members(topic)` and the broker's `presence` option).
   * Undefined (or returning undefined) keeps the connection anonymous; a
   * throw answers 500 (or the error's status). Sync or async.
   * @default undefined (no connection is a member)
   *
   * @example
   * ```ts
   * handlerFunc(broker, (req) => `project-${req.params.id}`, {
   *   presence: (req) => ({ id: req.user.id, data: { name: req.user.name } }),
   * });
   * ```
   */
  presence?: (req: R) => PresenceIdentity | undefined | Promise<PresenceIdentity | undefined>;
}
