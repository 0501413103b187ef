import { randomBytes } from "node:crypto";
import type { Backplane, SSEEvent } from "@burrow/sse-core";
import {
  type BackplaneEvent,
  type BackplaneHost,
  type BackplanePresence,
  type BackplaneReplay,
  engineStats,
  formatEventId,
  ownNonce,
  type PresenceHost,
  stallCheckMs,
} from "@burrow/sse-core/adapter";
import { readHead } from "./history-reader.js";
import { Link } from "./link.js";
import { PostgresLinkLog } from "./link-log.js";
import {
  describeConnection,
  type PostgresBackplaneOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import type { PostgresBackplaneStats } from "./postgres-backplane-stats.js";
import { PostgresPresence } from "./presence-store.js";
import { Publisher } from "./publisher.js";
import type { ReadyOptions } from "./readiness.js";
import { Recovery } from "./recovery.js";
import { Replayer } from "./replayer.js";
import { Retention } from "./retention.js";
import { names } from "./schema.js";
import { Subscriptions } from "./subscriptions.js";
import { topicProblem as problemOf } from "./topic-problem.js";

/**
 * The PostgreSQL {@link Backplane}: one global order from a counter row that
 * every publish increments (its row lock serializes publishes, so commit
 * order is seq order), events kept in a table (`historySize` per topic), and
 * `NOTIFY` on a channel per topic, which PostgreSQL delivers to every
 * listening connection in commit order. Each process listens, on one
 * connection, to the channels of the topics its clients watch. Create it with
 * {@link postgresBackplane}.
 *
 * It composes one owner per role: the {@link Link} (the pool, the listening
 * connection, the tables' probe, the state), the {@link Subscriptions}
 * (channels), the {@link Publisher} (publishes in batches, `maxPending`,
 * echoes), the {@link Recovery} (the order, and the catch-up after a cut),
 * the {@link Replayer} (resumes, a topic's latest event) and the {@link Retention} (old events pruned).
 */
export class PostgresBackplane implements Backplane {
  private readonly options: ResolvedOptions;
  private host: BackplaneHost | undefined;
  private readonly link: Link;
  private readonly subscriptions: Subscriptions;
  private readonly publisher: Publisher;
  private readonly recovery: Recovery;
  private readonly replayer: Replayer;
  private readonly retention: Retention;
  private presenceStore: PostgresPresence | undefined;

  /** @param options - see {@link PostgresBackplaneOptions}. */
  constructor(options: PostgresBackplaneOptions = {}) {
    this.options = resolveOptions(options);
    const { logger, prefix, timeoutMs, retentionMs, maxPending, maxReplays } = this.options;
    const where = describeConnection(this.options.connectionString, this.options.pool);
    // Random, per process: tells this process's publishes apart, and seeds a new epoch.
    const origin = randomBytes(6).toString("hex");
    const log = new PostgresLinkLog(logger, where, names(prefix).meta);
    this.link = new Link(this.options, where, origin, log, {
      sync: () => this.recovery.sync(),
      listenerLost: () => {
        this.subscriptions.lost();
        // Their echoes, if any, come from the table, not from NOTIFY.
        this.publisher.forgetTimes();
        this.recovery.lost();
      },
      notification: (channel, payload) => this.recovery.notification(channel, payload),
      changed: (state) => {
        // Answering again: the other processes learn of what overflowed meanwhile.
        if (state === "ready") this.publisher.sendGaps();
        if (state !== "down") return;
        this.presenceStore?.down();
        // Their replays would wait for a database that is not there: misses, now.
        this.replayer.flush();
      },
    });
    this.subscriptions = new Subscriptions(this.link, prefix);
    const limits = { maxPending, checkMs: stallCheckMs(timeoutMs) };
    this.publisher = new Publisher(origin, limits, log, {
      deliverHere: (topic, event) => this.host!.deliver(topic, event, 0),
      failed: (error) => this.link.publishFailed(error),
      retry: () => this.link.probe(),
      roundTrip: (seconds) => this.link.report({ kind: "roundTrip", seconds }),
    });
    this.recovery = new Recovery(this.link, this.subscriptions, log, {
      deliver: (topic, event, seq) => this.host!.deliver(topic, event, seq),
      echo: (eventOrigin) => this.publisher.echo(eventOrigin),
      own: (eventOrigin) => ownNonce(eventOrigin, origin) !== undefined,
      lost: (topics) => this.host?.lost?.(topics),
      historySize: () => this.host?.historySize ?? 0,
    });
    this.replayer = new Replayer(this.link, this.subscriptions, { maxReplays, timeoutMs });
    this.retention = new Retention(this.link, { prefix, timeoutMs, retentionMs });
  }

  /** Connects to PostgreSQL (creating the tables if needed); called once by the broker. */
  attach(host: BackplaneHost): void {
    if (this.host !== undefined) {
      throw new Error(
        "sse-postgres: backplane: already attached to a broker; create one per broker",
      );
    }
    this.host = host;
    if (this.link.state === "closed") return;
    this.link.connect((report) => host.report?.(report));
    const { prefix, timeoutMs } = this.options;
    const { pool, ownPool } = this.link;
    const historySize = host.historySize;
    this.publisher.start({ pool: pool!, prefix, timeoutMs, sessionBounded: ownPool, historySize });
    if (historySize > 0) this.retention.start();
  }

  /** Orders `event` through PostgreSQL; while it is unreachable, delivers it on this process only. */
  publish(topic: string, event: SSEEvent): void {
    const host = this.host;
    const state = this.link.state;
    if (host === undefined || state === "closed") return;
    if (state !== "ready") {
      this.publisher.deliverHere(topic, event);
      return;
    }
    const timed = this.subscriptions.isLive(topic) && host.report !== undefined;
    this.publisher.send(topic, event, this.subscriptions.channelOf(topic), timed);
  }

  /** LISTENs to `topic`'s channel (now, or as soon as PostgreSQL is reachable). */
  watch(topic: string): void {
    this.subscriptions.watch(topic);
  }

  /** UNLISTENs from `topic`'s channel. */
  unwatch(topic: string): void {
    this.subscriptions.unwatch(topic);
  }

  /**
   * Resolves once the link is ready (at once if it is); rejects with core's
   * `SSEBackplaneError`: kind `"configuration"` when PostgreSQL refuses the
   * configuration (a missing database, bad credentials; `cause`: pg's
   * error), `"timeout"` after `timeoutMs` (10 s by default), `"closed"` when
   * closed first. Its timer goes when it settles. See {@link ReadyOptions}.
   */
  ready(options?: ReadyOptions): Promise<void> {
    return this.link.ready(options);
  }

  /** Why PostgreSQL cannot carry `topic` (a NUL, a lone surrogate); the broker refuses it. */
  topicProblem(topic: string): string | undefined {
    return problemOf(topic);
  }

  /**
   * Reads what `topics` retained after `lastEventId`, through reads shared
   * with the other resumes of its topics (one snapshot per topic read, at
   * most `maxReplays` reads at a time, fewer while PostgreSQL answers
   * slowly); nothing for a client that left (`signal`).
   * See {@link Backplane.replay}.
   */
  replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    return this.replayer.replay(topics, lastEventId, this.host?.historySize ?? 0, signal);
  }

  /**
   * The newest event `topic` retains in the events table (see
   * {@link Backplane.last}), read once its LISTEN is answered; undefined
   * without history, while PostgreSQL is unreachable, or past `timeoutMs`.
   */
  last(topic: string, signal?: AbortSignal): Promise<BackplaneEvent | undefined> {
    return this.replayer.last(topic, this.host?.historySize ?? 0, signal);
  }

  /**
   * The id of the latest event ordered through this database and prefix (on
   * any process), for a page rendered now to resume from; undefined without
   * history or while PostgreSQL is unreachable. See {@link Backplane.latest}.
   */
  async latest(): Promise<string | undefined> {
    if (this.host === undefined || this.host.historySize === 0 || this.link.state !== "ready") {
      return undefined;
    }
    try {
      const head = await readHead(this.link.history());
      return head === undefined ? undefined : formatEventId(head.epoch, head.seq);
    } catch (error) {
      this.link.noteError(error as Error);
      return undefined;
    }
  }

  /** The link's state and counters. */
  stats(): PostgresBackplaneStats {
    const { link, publisher, recovery, replayer } = this;
    const order = {
      received: recovery.received,
      recovered: recovery.recovered,
      gaps: recovery.gaps,
      topics: this.subscriptions.size,
      presenceSweeps: this.presenceStore?.sweeps ?? 0,
    };
    const stats = engineStats({ link, publisher, resumes: replayer, order });
    return { ...stats, pruned: this.retention.pruned };
  }

  /**
   * Shares the broker's presence through PostgreSQL, on the backplane's pool
   * (see {@link PostgresBackplaneOptions.presenceTtlMs}); called by the broker.
   */
  presence(host: PresenceHost): BackplanePresence {
    if (this.presenceStore !== undefined) {
      throw new Error("sse-postgres: backplane: presence already shared with a broker");
    }
    this.presenceStore = new PostgresPresence(host, {
      // None when closed before a broker attached it: presence is then per process.
      pool: () => this.link.pool,
      sessionBounded: this.link.ownPool,
      prefix: this.options.prefix,
      ttlMs: this.options.presenceTtlMs,
      timeoutMs: this.options.timeoutMs,
      // The link's own statements report its errors; these would repeat them.
      onError: (error) => this.link.noteError(error),
    });
    return this.presenceStore;
  }

  /**
   * Closes the listening connection, and the pool it made (an app's own
   * `pool` stays open). Idempotent; the broker's `close()` calls it.
   */
  async close(): Promise<void> {
    if (this.link.state === "closed") return;
    this.link.markClosed();
    // Marks this process's members expired, before the pool closes.
    const presence = this.presenceStore?.close();
    this.recovery.close();
    this.retention.stop();
    this.subscriptions.clear();
    this.replayer.flush();
    this.publisher.close();
    await this.link.close(presence);
  }
}

/**
 * A PostgreSQL backplane for {@link EventBroker}: every broker created with
 * one (in any process, on the same database and prefix) shares one topic
 * space, one event order and one history, so a client resumes with
 * `Last-Event-ID` on any process.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 * import { postgresBackplane } from "@burrow/sse-postgres";
 *
 * const broker = new EventBroker({
 *   historySize: 100,
 *   backplane: postgresBackplane({ connectionString: process.env.DATABASE_URL }),
 * });
 * ```
 */
export function postgresBackplane(options: PostgresBackplaneOptions = {}): PostgresBackplane {
  return new PostgresBackplane(options);
}
