import type { Backplane } from "../backplane/backplane.js";
import { SSEFieldError, SSEOptionError } from "../base/errors.js";
import {
  bufferSizeOption,
  callbackOption,
  checkKeys,
  numberOption,
  optionKeys,
  slowClientOption,
} from "../base/option-checks.js";
import type { SlowClientPolicy } from "../base/slow-client-policy.js";
import {
  type PresenceIdentity,
  type PresenceOptions,
  type ResolvedPresenceOptions,
  resolvePresenceOptions,
} from "../presence/presence-options.js";
import { type SSEEvent, validateEvent } from "../wire/encode.js";
import type { ClientSnapshot } from "../wire/topic-policy.js";
import { type TopicPolicies, TopicRules } from "./topic-rules.js";

/** Per-client buffer capacity, in events, when none is given. */
export const DEFAULT_BUFFER_SIZE = 16;

/** Options of {@link EventBroker}. */
export interface BrokerOptions {
  /**
   * Events a client may have queued while its connection cannot take them;
   * past that, new events are dropped for that client only (and counted).
   * Any value below 1 becomes 1 (a client always holds the event being
   * written); a fraction is floored. A number, never a string.
   * @default 16
   */
  bufferSize?: number;
  /**
   * Events kept per topic so a client reconnecting with `Last-Event-ID`
   * resumes without a gap; 0 turns history off. With history on, an event
   * published without an `id` gets a broker-assigned, strictly increasing one.
   * @default 0
   */
  historySize?: number;
  /**
   * With history on: the `type` of an event sent first to a client whose
   * `Last-Event-ID` cannot be resumed without a gap (unknown or evicted), so
   * a page can reload what it shows (htmx: `hx-trigger="sse:<type>"`).
   * Unset, such a client just receives live events.
   * @default undefined
   */
  resumeMissEvent?: string;
  /**
   * What happens to a client whose buffer is full: `"drop-newest"` (lose the
   * new event), `"drop-oldest"` (lose the oldest queued one), or
   * `"disconnect"` (end the client; a browser reconnects and, with history
   * on, resumes without loss). Every lost event is counted in `dropped`.
   * @default "drop-newest"
   */
  slowClient?: SlowClientPolicy;
  /**
   * Shares one topic space with brokers in other processes (e.g.
   * `redisBackplane()` from `@burrow/sse-redis`): events are ordered and,
   * with `historySize`, retained and given ids by the backplane, so a client
   * resumes on any process. `publish` then delivers asynchronously, once the
   * backplane has ordered the event. `close()` closes the backplane.
   * @default undefined
   */
  backplane?: Backplane;
  /**
   * Publishes who is connected: each topic's joins and leaves (of
   * connections that a handler's `presence` option identified) are rendered
   * by `render` and published on `prefix + topic`, debounced so a reload does
   * not flap. Members are tracked without it too (see {@link EventBroker.members}).
   * @default undefined (members tracked, no presence event published)
   */
  presence?: PresenceOptions;
  /**
   * How topics' events add up to what a page shows, by topic name or prefix
   * pattern (`"badge:*"`): `{ kind: "state" }` for a topic whose latest event
   * is all that matters (queued events collapse to the newest; a client that
   * missed some gets the latest), `{ snapshot, target }` for a log topic whose
   * region the app can render whole (sent instead of losing events). Every
   * other topic is a log, as without this option. See {@link TopicPolicy}.
   * @default undefined (every topic a log, without snapshot)
   */
  topics?: TopicPolicies;
}

/** Options of {@link EventBroker.subscribe}. */
export interface SubscribeOptions {
  /** The last event id the client saw (the `Last-Event-ID` header). */
  lastEventId?: string;
  /**
   * Who the client is, for presence: it joins each of its topics as this
   * member (handlers set it from their `presence` option).
   */
  member?: PresenceIdentity;
  /**
   * Without a `lastEventId`: start with each topic's snapshot (log topics
   * that have one) and latest event (state topics), as a resume that missed
   * would (handlers set it from their `snapshotOnConnect` option).
   */
  snapshot?: boolean;
  /**
   * The client's own snapshot of a topic, rendered for it alone whenever
   * one of its topics whose policy has a `target` (the `topics` option)
   * must be repaired: returning undefined falls back to the policy's own
   * `snapshot` (see {@link ClientSnapshot}). Handlers set it from their
   * `snapshot` option, bound to the request.
   *
   * @example
   * ```ts
   * const client = broker.subscribe("notes", {
   *   lastEventId,
   *   renderSnapshot: () => renderNotesFor(user),
   * });
   * ```
   */
  renderSnapshot?: ClientSnapshot;
}

/**
 * `subscribe`'s `renderSnapshot`, checked: a function, or undefined (else
 * an {@link SSEOptionError} naming it). @internal
 */
export function renderSnapshotOf(options: SubscribeOptions): ClientSnapshot | undefined {
  const render = options.renderSnapshot;
  callbackOption("renderSnapshot", render, "(topic) => html (or a promise of it), or undefined");
  return render;
}

/** Every key of {@link BrokerOptions} (a key missing here, or not an option, fails to compile). @internal */
export const BROKER_OPTION_KEYS: readonly string[] = optionKeys<BrokerOptions>()([
  "bufferSize",
  "historySize",
  "resumeMissEvent",
  "slowClient",
  "backplane",
  "presence",
  "topics",
]);

const BACKPLANE_METHODS = ["attach", "publish", "watch", "unwatch", "replay", "stats", "close"];

/** Where a handler option given to a broker belongs. */
const HANDLER_OPTION_HINT = (key: string): string =>
  `${key} is a handler option: handler(broker, topics, { ${key} })`;

/** A broker's options, checked and resolved. @internal */
export interface ResolvedBrokerOptions {
  readonly bufferSize: number;
  readonly historySize: number;
  readonly slowClient: SlowClientPolicy;
  readonly resumeMissEvent: SSEEvent | undefined;
  readonly backplane: Backplane | undefined;
  /** The presence roster's options: the defaults when the option is left out. */
  readonly presence: ResolvedPresenceOptions;
  /** True when the `presence` option was given: presence events are published. */
  readonly presenceOn: boolean;
  /** The `topics` option's rules, with presence topics as state topics when `presence` is on. */
  readonly topics: TopicRules;
}

/**
 * Checks and resolves the argument of `new EventBroker(options)`: a number
 * (the `bufferSize`) or an object of {@link BrokerOptions}. Anything that
 * cannot work (an unknown key, a number given as a string, a backplane that
 * is not one) is an {@link SSEOptionError} naming the option. @internal
 */
export function resolveBrokerOptions(options: unknown): ResolvedBrokerOptions {
  if (typeof options === "number") options = { bufferSize: options };
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError(
      "options",
      "must be a number (the bufferSize) or an object of broker options, e.g. { bufferSize: 32 }",
      options,
      typeof options === "string" && Number.isFinite(Number(options))
        ? { hint: `pass the number ${Number(options)}, not a string` }
        : undefined,
    );
  }
  checkKeys(options, BROKER_OPTION_KEYS, "a broker option", {
    keepaliveMs: HANDLER_OPTION_HINT("keepaliveMs"),
    maxClients: HANDLER_OPTION_HINT("maxClients"),
  });
  const opts = options as BrokerOptions;
  const presenceOn = opts.presence !== undefined;
  const presence = resolvePresenceOptions(opts.presence);
  return {
    bufferSize: bufferSizeOption("bufferSize", opts.bufferSize, DEFAULT_BUFFER_SIZE),
    historySize: numberOption("historySize", opts.historySize, {
      fallback: 0,
      min: 0,
      infinity: false,
    }),
    slowClient: slowClientOption(opts.slowClient),
    resumeMissEvent: resumeMissEventOf(opts.resumeMissEvent),
    backplane: backplaneOf(opts.backplane),
    presence,
    presenceOn,
    // Each presence event is the whole member list: only the latest matters.
    topics: new TopicRules(
      opts.topics,
      presenceOn ? { [`${presence.prefix}*`]: { kind: "state" } } : undefined,
    ),
  };
}

function resumeMissEventOf(type: unknown): SSEEvent | undefined {
  if (type === undefined) return undefined;
  const event: SSEEvent = { type: type as string };
  try {
    if (typeof type !== "string" || type === "") throw new TypeError("not a string");
    validateEvent(event);
  } catch (err) {
    throw new SSEOptionError(
      "resumeMissEvent",
      "must be an event type: a non-empty string without CR, LF or NUL",
      type,
      { cause: SSEFieldError.isInstance(err) ? err : undefined },
    );
  }
  return event;
}

function backplaneOf(backplane: unknown): Backplane | undefined {
  if (backplane === undefined) return undefined;
  const methods = backplane as Record<string, unknown> | null;
  if (
    typeof methods !== "object" ||
    methods === null ||
    BACKPLANE_METHODS.some((name) => typeof methods[name] !== "function")
  ) {
    throw new SSEOptionError(
      "backplane",
      "must be a backplane object, e.g. redisBackplane()",
      backplane,
      typeof backplane === "function"
        ? { hint: "did you pass the function without calling it?" }
        : undefined,
    );
  }
  return backplane as Backplane;
}

/**
 * Checks broker options without creating a broker (nothing attaches to the
 * backplane): what `new EventBroker(options)` would refuse, it throws, as an
 * {@link SSEOptionError} naming the option. For code that creates the
 * broker later, e.g. `@burrow/sse-registry`'s `SSEApp`.
 */
export function validateBrokerOptions(options: number | BrokerOptions | undefined): void {
  resolveBrokerOptions(options);
}
