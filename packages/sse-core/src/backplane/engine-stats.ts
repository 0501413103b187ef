import type { BackplaneState, BackplaneStats } from "./backplane.js";

/**
 * `broker.stats().backplane` of an engine built on the backplane kit (a
 * global order, history, `maxPending`, `maxReplays`, shared presence):
 * what `@burrow/sse-redis` and `@burrow/sse-postgres` report, each
 * extending it with its own fields.
 */
export interface BackplaneEngineStats extends BackplaneStats {
  /** Events this process had ordered by the engine, ever. */
  published: number;
  /**
   * Events read back from the engine's history after this process's
   * receiving connection was cut (published meanwhile by other processes), ever.
   */
  recovered: number;
  /**
   * Times a reconnection could not recover what was published meanwhile
   * (the engine lost its data, or history is off or too short), and gap
   * markers received (events another process could not send: its
   * `maxPending` overflowed), ever. Each calls the broker's repair of the
   * topics concerned.
   */
  gaps: number;
  /** The last error seen, if any. */
  lastError: string | undefined;
  /**
   * Events published here and waiting for the engine, now: at most
   * `maxPending` while the engine does not answer, at most ten times that
   * while it answers (a burst waits its turn).
   */
  pending: number;
  /**
   * Events published while the engine did not answer and `maxPending` were
   * waiting (or ten times that while it answers): not sent, delivered on
   * this process only, ever. Once the engine answers again, a gap marker
   * per topic concerned tells every other process (their `gaps`), which
   * repairs its clients of those topics.
   */
  overflow: number;
  /** Times the engine left a connection or a statement unanswered past `timeoutMs`, ever. */
  timeouts: number;
  /** Resumes reading history or waiting for a read (see `maxReplays`), now. */
  replays: number;
  /** Resumes whose client left before their read started: nothing was read for them, ever. */
  replaysSkipped: number;
  /**
   * History reads run for resumes, ever: one read of a topic serves every
   * resume of it waiting, so a storm of resumes costs far fewer reads than resumes.
   */
  replayReads: number;
  /** History reads allowed at once now: adapts to how fast the engine answers, at most `maxReplays`. */
  replayLimit: number;
  /** Presence sweeps for processes that stopped renewing their members run here, ever. */
  presenceSweeps: number;
}

/** The counters of an engine's order that its stats report: how its events came, and its topics. */
export type OrderCounters = Pick<
  BackplaneEngineStats,
  "received" | "recovered" | "gaps" | "topics" | "presenceSweeps"
>;

/** The counters of an engine's resumes that its stats report (see `BackplaneResumes.counters`). */
export type ResumeCounters = Pick<
  BackplaneEngineStats,
  "replays" | "replaysSkipped" | "replayReads" | "replayLimit"
>;

/** What {@link engineStats} reads of an engine's parts. */
export interface EngineParts {
  /** The link: its state, the times it went down, its timeouts and its last error. */
  link: {
    readonly state: BackplaneState;
    readonly errors: number;
    readonly timeouts: number;
    readonly lastError: Error | undefined;
  };
  /** The publisher: what it sent, what stayed here, what waits and what overflowed. */
  publisher: {
    readonly published: number;
    readonly localOnly: number;
    readonly pending: number;
    readonly overflow: number;
  };
  /** The resumes (a `BackplaneResumes`). */
  resumes: { counters(): ResumeCounters };
  /** The order's counters, now. */
  order: OrderCounters;
}

/**
 * An engine's `stats()` (see {@link BackplaneEngineStats}), read from its
 * parts now; an engine with fields of its own spreads it into its stats.
 *
 * @example
 * ```ts
 * stats(): MyEngineStats {
 *   const { link, publisher, replayer } = this;
 *   const order = { received, recovered, gaps, topics: subscriptions.size, presenceSweeps: 0 };
 *   return { ...engineStats({ link, publisher, resumes: replayer, order }), pruned: this.pruned };
 * }
 * ```
 */
export function engineStats({
  link,
  publisher,
  resumes,
  order,
}: EngineParts): BackplaneEngineStats {
  return {
    state: link.state,
    errors: link.errors,
    localOnly: publisher.localOnly,
    received: order.received,
    topics: order.topics,
    published: publisher.published,
    recovered: order.recovered,
    gaps: order.gaps,
    lastError: link.lastError?.message,
    pending: publisher.pending,
    overflow: publisher.overflow,
    timeouts: link.timeouts,
    ...resumes.counters(),
    presenceSweeps: order.presenceSweeps,
  };
}
