/**
 * How the events of a topic add up to what a page shows:
 * - `"log"` (the default): every event matters (a list of notes, a chat);
 *   a client that lost some is repaired by the topic's `snapshot`, if it
 *   has one;
 * - `"state"`: only the latest event matters (a status line, a badge, a
 *   counter): a slow client's queued events of the topic collapse to the
 *   newest, and a client that lost some gets the latest one.
 */
export type TopicKind = "log" | "state";

/**
 * Renders a topic's region whole, as the page's own template does: the HTML
 * that replaces the region's content (its `target`) when a client cannot be
 * sent exactly what it missed. Called with the topic; sync or async. It must
 * render the state as of its call: events published after the call are
 * sent after the snapshot (so state read later, e.g. by a query that starts
 * after an `await`, may show an event twice).
 */
export type SnapshotRenderer = (topic: string) => string | Promise<string>;

/**
 * One client's own snapshot of a topic, rendered for it alone (a handler's
 * `snapshot` option, bound to the request): the HTML that replaces the
 * region, sync or async; `undefined` (returned, not resolved) when this
 * client's region is the one the topic's own `snapshot` renders for
 * everyone. Used for the topics whose policy has a `target`.
 */
export type ClientSnapshot = (topic: string) => string | Promise<string> | undefined;

/**
 * What an app declares of one topic, or of every topic a pattern matches
 * (the broker's `topics` option).
 *
 * @example
 * ```ts
 * const broker = new EventBroker({
 *   historySize: 100,
 *   topics: {
 *     notes: { snapshot: () => renderNotes(), target: "#notes" },
 *     status: { kind: "state" },
 *     "badge:*": { kind: "state" },
 *     stats: { kind: "state", local: true }, // this process's own figures
 *   },
 * });
 * ```
 */
export interface TopicPolicy {
  /** `"log"` (every event matters) or `"state"` (only the latest does). @default "log" */
  kind?: TopicKind;
  /**
   * The topic's region rendered whole, sent instead of losing events: for a
   * log topic, when a resume cannot be exact (an unknown or evicted
   * `Last-Event-ID`, an id of an earlier run) and when the client's buffer
   * overflows on it; for a state topic, when the broker knows no latest
   * event of it (after a restart, before the app published one; on a
   * backplane, when the engine retains none either). Needs `target`. A
   * client whose handler has a `snapshot` option is rendered its own first
   * (see `HandlerOptions.snapshot`).
   */
  snapshot?: SnapshotRenderer;
  /**
   * The CSS selector of the element whose content a snapshot replaces
   * (`"#notes"`), or a function of the topic for a pattern
   * (``(topic) => `#${topic.replace(":", "-")}` ``). Both htmx versions
   * receive `<hx-partial hx-target=… hx-swap="innerHTML">`.
   *
   * A `target` without `snapshot` declares a region rendered per request
   * only: by the `snapshot` option of the handlers that serve the topic. A
   * client without one (`broker.subscribe`, a handler without the option)
   * is not repaired on such a topic: it loses events as on a topic without
   * a policy.
   */
  target?: string | ((topic: string) => string);
  /**
   * How long a snapshot may take before it counts as failed (its clients
   * then get the events held meanwhile, and the region may stay behind);
   * on a backplane, also how long a state topic's read of the engine's
   * latest event may take before the snapshot (or nothing) is used instead.
   * @default 10000
   */
  snapshotTimeoutMs?: number;
  /**
   * How long after its render started a snapshot may be sent again, in
   * milliseconds: a client that asks for one later (a slow reader whose
   * buffer overflowed, a resume past history, `snapshotOnConnect`) is sent
   * the topic's last snapshot while it is younger than this and no event
   * of the topic came since its render started; once older, it renders
   * afresh. It bounds how long state the app changed without publishing
   * (a write on a path that forgot to publish) stays out of new clients'
   * regions. `0`: never sent again, as before reuse: a render serves only
   * the clients waiting when it starts (a client that asks while it runs
   * waits for the next one). A non-negative integer. A connection's own
   * snapshot (a handler's `snapshot` option) is never sent again.
   * @default 5000
   */
  snapshotReuseMs?: number;
  /**
   * Keeps the topic on this process, for figures that differ per process
   * (its own `broker.stats()`, its memory, its queue): with a `backplane`,
   * its publishes reach this process's clients only and never the
   * backplane (not counted `localOnly`: the engine is not involved), its
   * clients are not watched on the backplane, and a state topic's latest
   * event is this process's own. With `historySize`, this process keeps
   * its history in memory and a client resumes from it; a client that
   * reconnects to another process is not resumed on it (repaired when it
   * can be, else told of the miss: `resumeMissEvent`). Without a backplane
   * every topic is local already: nothing changes.
   * @default false
   */
  local?: boolean;
}

/** A topic's policy, checked and resolved. @internal */
export interface TopicRule {
  readonly kind: TopicKind;
  readonly snapshot: SnapshotRenderer | undefined;
  readonly target: string | ((topic: string) => string) | undefined;
  readonly snapshotTimeoutMs: number;
  /** How long after its render started a snapshot may be sent again (0: never). */
  readonly snapshotReuseMs: number;
  /** Kept on this process (never sent to a backplane). */
  readonly local: boolean;
}

/** The rule of every topic no policy names: a log, without snapshot. @internal */
export const LOG_RULE: TopicRule = Object.freeze({
  kind: "log",
  snapshot: undefined,
  target: undefined,
  snapshotTimeoutMs: 10_000,
  snapshotReuseMs: 5000,
  local: false,
});

/**
 * Why a client was sent a snapshot (or a state topic's latest event):
 * `"miss"` (its `Last-Event-ID` unknown or evicted), `"restart"` (an id of
 * an earlier run of the broker), `"overflow"` (its buffer overflowed on the
 * topic), `"connect"` (it connected without an id to a handler with
 * `snapshotOnConnect`).
 */
export type RepairReason = "miss" | "restart" | "overflow" | "connect";

/** Every repair reason, in a fixed order (for counters with a bounded label set). */
export const REPAIR_REASONS: readonly RepairReason[] = Object.freeze([
  "miss",
  "restart",
  "overflow",
  "connect",
]);
