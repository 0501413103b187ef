import type { SSEEvent } from "../wire/encode.js";
import type { BackplanePresence, PresenceHost } from "./backplane-presence.js";

/**
 * The state of a backplane's link to its engine: `"connecting"` before the
 * first connection, `"ready"` while events go through the engine, `"down"`
 * while it is unreachable (publishes are delivered on this process only),
 * `"closed"` after `close()`.
 */
export type BackplaneState = "connecting" | "ready" | "down" | "closed";

/** What a backplane reports in `broker.stats().backplane`; an engine may add fields. */
export interface BackplaneStats {
  /** The link's state now. */
  state: BackplaneState;
  /** Times the link went down (or failed to come up), ever. */
  errors: number;
  /** Events published on this process while the link was not ready, delivered here only, ever. */
  localOnly: number;
  /** Events received through the engine (from any process, this one included), ever. */
  received: number;
  /** Topics this process receives from the engine now (subscribed there for a local client). */
  topics: number;
}

/** One event of a replay, in the backplane's global order. */
export interface BackplaneEvent {
  /** Its topic. */
  topic: string;
  /** The event, with the id the backplane gave it. */
  event: SSEEvent;
  /** Its place in the global order: strictly increasing, at least 1. */
  seq: number;
}

/** What {@link Backplane.replay} finds. */
export interface BackplaneReplay {
  /** The seq of the event the client last saw: live events up to it are not sent again. */
  after: number;
  /** The retained events after it, in global order. */
  events: BackplaneEvent[];
}

/**
 * What a backplane tells its broker's observers (see `BrokerObserver.backplane`),
 * for metrics and logs:
 * - `{ kind: "state" }`: the link changed state (`"ready"` after `"down"` is a reconnect);
 * - `{ kind: "roundTrip" }`: an event published on this process came back
 *   from the engine in the global order, `seconds` after `publish` was called.
 */
export type BackplaneReport =
  | { kind: "state"; state: BackplaneState; previous: BackplaneState }
  | { kind: "roundTrip"; seconds: number };

/**
 * What a broker hands its backplane in {@link Backplane.attach}: where ordered
 * events come back, and the settings the backplane must follow.
 */
export interface BackplaneHost {
  /** Events kept per topic for resume (the broker's `historySize`; 0: none, and no ids). */
  readonly historySize: number;
  /**
   * Hands an event to this process's clients of `topic`. A backplane calls it
   * for every event published on any process (this one included), in the
   * same global order on every process, with `seq` its place in that order;
   * and, with `seq` 0, for an event published here while the engine was
   * unreachable (delivered on this process only). Throws
   * {@link SSEFieldError} for an event that cannot be encoded.
   */
  deliver(topic: string, event: SSEEvent, seq: number): void;
  /**
   * Tells the broker's observers what the link did (a state change, a
   * publish's round trip). Optional for a backplane to call; never throws.
   * Optional here so that a host written by hand (in a backplane's tests)
   * need not have it: call it as `host.report?.(...)`.
   */
  report?(report: BackplaneReport): void;
  /**
   * Events of `topics` published while the link was cut could not be read
   * back (the engine lost them, or its history is too short): the broker
   * repairs its clients of those topics that can be repaired (a snapshot, a
   * state topic's latest event). Optional for a backplane to call, and here.
   */
  lost?(topics: readonly string[]): void;
}

/**
 * Connects brokers in many processes into one topic space: an event published
 * on any of them reaches the matching clients of all of them, in one order.
 * `@burrow/sse-redis` implements it on Redis; another engine (NATS, Postgres)
 * can implement the same calls.
 *
 * The broker calls `attach` once, `watch`/`unwatch` when its first client of a
 * topic arrives / its last one leaves, `publish` for each accepted event,
 * `replay` when a client resumes with `Last-Event-ID`, `last` when a state
 * topic's client needs its current value and the broker knows none, and
 * `close` when the broker closes.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 * import { redisBackplane } from "@burrow/sse-redis";
 *
 * const broker = new EventBroker({ historySize: 100, backplane: redisBackplane() });
 * ```
 */
export interface Backplane {
  /** Called once by the broker that uses this backplane, before any other call. */
  attach(host: BackplaneHost): void;
  /**
   * Orders `event` (validated, with its `type` set) globally and hands it back
   * to every attached host, this one included. Must not throw nor block: when
   * the engine is unreachable, deliver it at once to this host with seq 0.
   */
  publish(topic: string, event: SSEEvent): void;
  /** This process has a client of `topic` now: start receiving its events. */
  watch(topic: string): void;
  /** This process has no client of `topic` any more: stop receiving its events. */
  unwatch(topic: string): void;
  /**
   * The retained events of `topics` published after the event `lastEventId`,
   * in global order; `undefined` when that id is unknown, or events after it
   * were evicted (resuming would leave a gap), or the engine is unreachable.
   * Read once the topics are watched, so that what it returns overlaps live
   * deliveries instead of leaving a hole between them; and resolved only
   * once the live deliveries of the events it returns were made, since the
   * broker removes the overlap by `seq` while the replay is pending, not
   * after. The client does not wait for it to see an open stream: headers
   * are sent at once (with a `:resuming` comment); the replay follows.
   * Rejects only on an unexpected failure (treated as `undefined`, as is a
   * synchronous throw: a resume miss on the open stream).
   * `signal` aborts when the resuming client leaves: the backplane should
   * then stop reading (what it resolves to is ignored), so that clients that
   * connect and leave at once cost the engine nothing.
   */
  replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined>;
  /**
   * The id of the latest event the engine has ordered (on any process), so that a page rendered now can
   * resume from it: `replay(topics, latest())` returns exactly the events published after this call.
   * Undefined when the engine is unreachable or history is off.
   */
  latest?(): Promise<string | undefined>;
  /**
   * The latest event of `topic` the engine retains (published on any
   * process), with the id the backplane gave it and its `seq`: a state
   * topic's current value for a process that knows none (it did not watch
   * the topic). Undefined when the topic retains none (never published,
   * history off, evicted), or the engine is unreachable or does not answer
   * within the backplane's own timeout. Read once `topic` is watched, as
   * {@link Backplane.replay} is, so that the value read and the live
   * deliveries overlap instead of leaving a hole between them. Never
   * rejects for the engine's failure (a rejection is treated as
   * `undefined`). `signal` aborts when the broker stops waiting (past the
   * topic's `snapshotTimeoutMs`, or once every client waiting for it has
   * left): the backplane should then stop reading and settle (what it
   * resolves to is ignored), so that clients that leave cost the engine nothing.
   * Optional: without it, such a state topic is repaired by its snapshot,
   * if it has one.
   */
  last?(topic: string, signal?: AbortSignal): Promise<BackplaneEvent | undefined>;
  /** The link's state and counters. */
  stats(): BackplaneStats;
  /**
   * Resolves once the link first reaches `"ready"` (at once if it is), so
   * that an app can fail fast at startup. Rejects with an `SSEBackplaneError`
   * of kind `"configuration"` when the engine refuses the configuration
   * (bad credentials, a missing database), `"timeout"` when no connection
   * came up within `timeoutMs`, `"closed"` when closed first. Optional for a
   * backplane to implement.
   */
  ready?(options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Why `topic` cannot be carried by this engine (e.g. PostgreSQL cannot
   * store a NUL), or undefined when it can. The broker calls it before it
   * watches or publishes a topic and refuses one with a reason with an
   * `SSEFieldError` (field `"topic"`), before any statement reaches the
   * engine. Optional.
   */
  topicProblem?(topic: string): string | undefined;
  /** Stops receiving and releases the engine connections. Idempotent. */
  close(): Promise<void>;
  /**
   * Shares presence with the other processes: called once, after `attach`,
   * by a broker. Without it, presence is per process.
   */
  presence?(host: PresenceHost): BackplanePresence;
}
