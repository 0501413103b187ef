import { SSEOptionError } from "../base/errors.js";
import {
  booleanOption,
  callbackOption,
  checkKeys,
  optionKeys,
  optionsObject,
} from "../base/option-checks.js";
import { type StreamTiming, timingOf } from "../delivery/event-stream.js";
import type { PresenceIdentity } from "../presence/presence-options.js";
import type { SSERequest } from "../transport/sse-request.js";
import type { SwapOption } from "../wire/swap.js";
import { LIMIT_KEYS, type Limits, resolveLimits } from "./limits.js";
import { type SwapPlan, swapPlanOf } from "./request-format.js";

/**
 * Decides whether a request may watch `topics`: false answers 403; a thrown
 * error with a `status` or `statusCode` answers that status. Sync or async.
 * `R` is what the handler serves: a `node:http` request, express's `req`,
 * koa's `ctx`, or a fetch `Request`.
 */
export type Authorize<R> = (req: R, topics: readonly string[]) => boolean | Promise<boolean>;

/**
 * Told about a request that failed because of a bug rather than the client:
 * a topic function or `authorize` that threw (or rejected) an error without
 * an HTTP status between 400 and 499, or a context handler that found no
 * broker on the request. The client has been answered 500 by then (without
 * the error's message); `req` is what the handler serves.
 */
export type OnError<R> = (error: unknown, req: R) => void;

/**
 * Options every handler accepts (core's and every adapter's). `R` is what
 * the handler serves (its callbacks' request); `K` the topics its `swap`
 * map may name (a typed broker's handler topics; any by default).
 */
export interface HandlerOptions<R = SSERequest, K extends string = string> extends Limits {
  /**
   * Interval of the `:keepalive` comment that stops proxies from closing an
   * idle stream, in milliseconds; 0 turns it off (as 0 turns off every
   * numeric option's feature).
   * @default 30000
   */
  keepaliveMs?: number;
  /**
   * Called with the request and its topics before anything is subscribed.
   * @default undefined (everyone may watch every topic the handler serves)
   */
  authorize?: Authorize<R>;
  /**
   * Told about a request that failed because of a bug (a topic function,
   * `authorize` or `presence` that threw an error without a 4xx status, a
   * missing broker middleware), after the handler answered it a bare 500.
   * Refusals (4xx, 503) are not errors and are not reported.
   * @default the framework's own error handling, with nothing answered: a
   *   handler called with `next` (express, connect) passes the error to
   *   `next(err)`; `@burrow/sse-koa` rejects into koa's middleware chain;
   *   `@burrow/sse-fastify` into fastify's error handler; otherwise the
   *   handler answers a bare 500 and logs the error once with
   *   `console.error`, with the request's method and path
   */
  onError?: OnError<R>;
  /**
   * When the broker closes (shutdown), each stream is sent a `retry:` of a
   * random number of milliseconds below this before it ends, so thousands of
   * browsers do not reconnect in the same second. 0 sends none.
   * @default 5000
   */
  reconnectWindowMs?: number;
  /**
   * How a request htmx sent gets its events, as htmx 4's `hx-sse` swaps
   * them: unnamed messages (htmx 4 swaps only those; a named event becomes a
   * DOM event on the element). A handler tells the two htmx versions apart
   * per request: one htmx sent (the `HX-Request` header, which htmx 4's
   * `hx-sse:connect` sends and htmx 2's `EventSource` cannot) gets the
   * format below; any other request (an `EventSource`, htmx 2's `sse-swap`,
   * a plain `fetch` without the header) gets named events, `event: <type>`,
   * unless `swapEveryRequest`. So one endpoint serves htmx 4 and htmx 2
   * pages, with or without this option.
   * - left out: as `true`; several topics on such a stream all swap into the
   *   stream element's own target, and the first one emits a process warning
   *   (`SSEWarning`, code `SSE_SWAP_NO_TARGET`) naming the map that fixes it,
   *   once per handler.
   * - `true`: every event whose `type` is its topic (the default type) goes
   *   out without an `event:` line, and htmx 4 swaps it into the stream
   *   element's target with its `hx-swap`.
   * - a map of topic to target (`{ notes: { target: "#notes", swap: "beforeend" },
   *   status: "#status" }`): the events of those topics are also wrapped in
   *   `<hx-partial hx-target="…" hx-swap="…">`, so each topic lands in its own
   *   target from one stream; other topics' events go out unnamed as with `true`.
   *   Keys are topic names, exactly (no patterns): a handler of fixed topics
   *   throws an `SSEOptionError` (option `swap.<key>`) at creation for a key
   *   that is none of them, naming the closest topic; with a topic function,
   *   the first htmx stream with a topic that has no target while a key naming
   *   none of its topics is close to it (`note` for `notes`) emits a process
   *   warning (`SSEWarning`, code `SSE_SWAP_NO_TARGET`), once per handler.
   *   Data is HTML the app must escape: while such a stream is connected,
   *   `publish` on a wrapped topic throws an `SSEFieldError` (field `"data"`)
   *   for data holding an end tag that would close the partial early
   *   (`</hx-partial>`, any `</hx-…>`, `</template>`).
   * - `false`: every event is named, htmx's requests too: for an htmx 4 page
   *   that uses a topic's events as triggers, not swaps.
   *
   * Events published with a `type` of their own stay named either way, for
   * `hx-trigger` and `hx-sse:close`. Each event is encoded once per format,
   * not once per client. On a typed broker, the map may name only the
   * handler's topics (its fixed ones, or those its topic function's type
   * returns).
   * @default undefined (as `true` for htmx's requests)
   */
  swap?: SwapOption<K> | false;
  /**
   * Sends every request the htmx 4 format of `swap`, with or without the
   * `HX-Request` header: for a client that reads htmx 4's messages without
   * sending it (a plain `fetch` reader).
   * With `swap: false`, an `SSEOptionError`.
   * @default false (only htmx's requests; others get named events)
   */
  swapEveryRequest?: boolean;
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
  /**
   * A connection that gives no `Last-Event-ID` (header or `?lastEventId=`)
   * starts with the snapshot of each of its topics that has one and the
   * latest event of each state topic (see the broker's `topics` option), so
   * its page converges even when it connects from a page rendered earlier:
   * htmx 2's `htmx-ext-sse` rebuilds a failed `EventSource`, which then
   * sends no header. Counted as `snapshots.connect`.
   * @default false
   */
  snapshotOnConnect?: boolean;
  /**
   * This connection's own snapshot of a topic, rendered for it alone from
   * its request: for a region that differs per user (what they may see,
   * their language, "you" marked). Called with the topic and the request
   * whenever one of the connection's topics whose policy (the broker's
   * `topics` option) has a `target` must be repaired: a resume that cannot
   * be exact, an overflow of its buffer, `snapshotOnConnect`. Returns the
   * region's HTML, sync or async, or `undefined` (itself, not a promise of
   * it) for the policy's own `snapshot`, shared by every client that needs
   * it. A policy may then give a `target` alone: its region is rendered per
   * request only. The policy's `snapshotTimeoutMs`, failure counting and
   * warning apply; counted in `stats().snapshots` by reason. A handler with
   * fixed topics throws an `SSEOptionError` at creation when none of them
   * has a target.
   * @default undefined (every snapshot is the policy's own)
   *
   * @example
   * ```ts
   * const broker = new EventBroker({ historySize: 100, topics: { inbox: { target: "#inbox" } } });
   * handler(broker, "inbox", {
   *   snapshot: (_topic, req) => renderInbox(userOf(req)),
   * });
   * ```
   */
  snapshot?: RequestSnapshot<R>;
}

/**
 * A handler's `snapshot` option: one connection's own snapshot of `topic`,
 * from its request `req` (see {@link HandlerOptions.snapshot}). `R` is what
 * the handler serves.
 */
export type RequestSnapshot<R> = (topic: string, req: R) => string | Promise<string> | undefined;

/** Every key of {@link HandlerOptions} (a key missing here, or not an option, fails to compile). @internal */
export const HANDLER_OPTION_KEYS: readonly string[] = optionKeys<HandlerOptions>()([
  "keepaliveMs",
  "authorize",
  "onError",
  "reconnectWindowMs",
  "swap",
  "swapEveryRequest",
  "presence",
  "snapshotOnConnect",
  "snapshot",
  ...LIMIT_KEYS,
]);

/** Where a broker option given to a handler belongs. */
const BROKER_OPTION_HINT = (key: string): string =>
  `${key} is the broker's option: new EventBroker({ ${key} })`;

/** A handler's options, checked and resolved once; requests only read it. @internal */
export interface HandlerPlan<R> extends SwapPlan {
  readonly timing: StreamTiming;
  readonly limits: Required<Limits>;
  readonly authorize: Authorize<R> | undefined;
  readonly onError: OnError<R> | undefined;
  readonly presence: HandlerOptions<R>["presence"];
  readonly snapshotOnConnect: boolean;
  readonly snapshot: RequestSnapshot<R> | undefined;
}

const plans = new WeakMap<object, HandlerPlan<never>>();
const NO_OPTIONS: HandlerOptions<never> = Object.freeze({});

/**
 * `options`, checked (unknown keys, types, ranges: an {@link SSEOptionError}
 * naming the option) and resolved, once per options object. @internal
 */
export function planOf<R, K extends string = string>(
  options: HandlerOptions<R, K> | undefined,
): HandlerPlan<R> {
  // `K` (a typed broker's topics) narrows only which swap keys an app may
  // write: the map itself is a SwapOption like any other.
  const given = optionsObject(
    options === undefined ? NO_OPTIONS : options,
    "handler options",
    "{ keepaliveMs: 15000 }",
  ) as HandlerOptions<R>;
  const known = plans.get(given) as HandlerPlan<R> | undefined;
  if (known !== undefined) return known;
  checkKeys(given, HANDLER_OPTION_KEYS, "a handler option", {
    bufferSize: BROKER_OPTION_HINT("bufferSize"),
    historySize: BROKER_OPTION_HINT("historySize"),
    slowClient: BROKER_OPTION_HINT("slowClient"),
  });
  callbackOption("authorize", given.authorize, "(req, topics) => boolean");
  callbackOption("onError", given.onError, "(error, req) => void");
  callbackOption("presence", given.presence, "(req) => ({ id, data })");
  const plan: HandlerPlan<R> = Object.freeze({
    timing: timingOf(given),
    limits: resolveLimits(given),
    ...swapPlanOf(given.swap, given.swapEveryRequest),
    authorize: given.authorize,
    onError: given.onError,
    presence: given.presence,
    snapshotOnConnect: booleanOption("snapshotOnConnect", given.snapshotOnConnect),
    snapshot: snapshotOption(given.snapshot),
  });
  plans.set(given, plan as HandlerPlan<never>);
  return plan;
}

/** The `snapshot` option, checked: a function, or undefined. */
function snapshotOption<R>(
  snapshot: RequestSnapshot<R> | undefined,
): RequestSnapshot<R> | undefined {
  if (snapshot === undefined || typeof snapshot === "function") return snapshot;
  throw new SSEOptionError(
    "snapshot",
    "must be a function (topic, req) => html (or a promise of it), or undefined",
    snapshot,
    typeof snapshot === "boolean"
      ? { hint: "snapshotOnConnect: true starts a connection with its topics' snapshots" }
      : undefined,
  );
}

/**
 * `options` with `report` as their `onError` unless the app gave one: how an
 * adapter routes bugs to its framework's error handling (koa's `ctx.onerror`,
 * fastify's logger). Anything but an options object is passed on as it is,
 * for the handler to refuse with its own message. For adapter authors.
 */
export function withOnError<R, O extends { onError?: OnError<R> }>(
  options: O | undefined,
  report: OnError<R>,
): O {
  if (options !== undefined && (typeof options !== "object" || options === null)) return options;
  if (Array.isArray(options)) return options;
  return { ...options, onError: options?.onError ?? report } as O;
}
