import { randomBytes } from "node:crypto";
import type {
  Backplane,
  BackplaneReport,
  BackplaneState,
  BackplaneStats,
  SSEEvent,
} from "@burrow/sse-core";
import {
  type BackplaneHost,
  type BackplanePresence,
  type BackplaneReplay,
  GlobalOrder,
  nextBackplaneState,
  type OrderedEvent,
  type PresenceHost,
  parseEventJson,
} from "@burrow/sse-core/adapter";
import pg from "pg";
import { readHistory, type StoredEvent } from "./history-read.js";
import { LinkHealth } from "./link-health.js";
import { Listener } from "./listener.js";
import {
  describeConnection,
  type PostgresBackplaneOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import { channelOf, eventJson, Reassembler } from "./payload.js";
import { PostgresPresence } from "./presence-store.js";
import { type Outgoing, Publisher } from "./publisher.js";
import { Readiness, type ReadyOptions } from "./ready.js";
import { ReplayLimit } from "./replay-limit.js";
import {
  headStatement,
  names,
  probeStatement,
  pruneStatements,
  schemaCheckStatement,
  schemaStatements,
} from "./schema.js";
import { topicProblem as problemOf } from "./topic-problem.js";
import { isTimeout, transaction } from "./transaction.js";

/** `broker.stats().backplane` with a PostgreSQL backplane. */
export interface PostgresBackplaneStats extends BackplaneStats {
  /** Events this process had ordered by PostgreSQL, ever. */
  published: number;
  /**
   * Events read back from the events table after this process's listening
   * connection was cut (published meanwhile by other processes), ever.
   */
  recovered: number;
  /**
   * Times a reconnection could not recover what was published meanwhile
   * (the tables were dropped, or history is off or too short), ever.
   */
  gaps: number;
  /** The last error seen, if any. */
  lastError: string | undefined;
  /** Events waiting for PostgreSQL (queued or being sent), now: at most `maxPending`. */
  pending: number;
  /**
   * Events published while `maxPending` were waiting: not sent, delivered
   * on this process only, ever.
   */
  overflow: number;
  /**
   * Statements and connection attempts that PostgreSQL left unanswered past
   * `timeoutMs` (or cancelled by `statement_timeout` / `lock_timeout`), ever.
   */
  timeouts: number;
  /** Resumes reading history or waiting their turn (see `maxReplays`), now. */
  replays: number;
  /** Resumes whose client left before their turn: nothing was read for them, ever. */
  replaysSkipped: number;
  /** Events this process deleted for being older than `retentionMs`, ever. */
  pruned: number;
  /** Presence sweeps for processes that stopped renewing their members run here, ever. */
  presenceSweeps: number;
}

/** An event to deliver in order: from a notification, or recovered from the table. */
type Message = OrderedEvent;

/** SQLSTATEs saying the backplane's tables or function are missing: create them again. */
const MISSING_SCHEMA = new Set(["42P01", "42883"]);

/** Own publishes whose answer was lost and that were delivered here: remembered at most this many. */
const MAX_DELIVERED_LOCALLY = 10_000;

/** Own publishes whose echo is awaited for a round-trip report: remembered at most this many. */
const MAX_TIMED = 10_000;

/**
 * The PostgreSQL {@link Backplane}: one global order from a counter row that
 * every publish increments (its row lock serializes publishes, so commit
 * order is seq order), events kept in a table (`historySize` per topic), and
 * `NOTIFY` on a channel per topic, which PostgreSQL delivers to every
 * listening connection in commit order. Each process listens, on one
 * connection, to the channels of the topics its clients watch. Create it with
 * {@link postgresBackplane}.
 */
export class PostgresBackplane implements Backplane {
  private readonly options: ResolvedOptions;
  private readonly where: string;
  /** The pool is the backplane's own, its sessions bounded by `timeoutMs` from the start. */
  private ownPool = false;
  private host: BackplaneHost | undefined;
  private pool: pg.Pool | undefined;
  private listener: Listener | undefined;
  private publisher: Publisher | undefined;
  /** Topics with a local client, and the promise of their LISTEN's answer. */
  private readonly watched = new Map<string, Promise<void> | undefined>();
  /** Channel -> topic, for the watched topics. */
  private readonly channels = new Map<string, string>();
  /** Watched topics whose LISTEN was answered on the current connection. */
  private readonly live = new Set<string>();
  private state: BackplaneState = "connecting";
  /** The tables exist and the publishing side answers. */
  private publisherUp = false;
  private schemaReady = false;
  private probing = false;
  private probeAttempts = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning = false;
  /** The listening connection is up, listens to every watched topic, and caught up. */
  private listenerSynced = false;
  private syncing = false;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Counts listening connections, so a sync knows it is still on its own. */
  private generation = 0;
  /** Notifications that arrive while a reconnection catches up from the table. */
  private held: Message[] | undefined;
  private readonly reassembler = new Reassembler();
  /** Where this process stands in the order of events through PostgreSQL. */
  private readonly order = new GlobalOrder();
  /** Random, per process: tells this process's publishes apart, and seeds a new epoch. */
  private readonly origin = randomBytes(6).toString("hex");
  private nonce = 0;
  /** Own publishes sent whose answer and echo are both still awaited. */
  private readonly awaiting = new Set<number>();
  /** Own publishes to a topic listened to here -> when `publish` was called (for round-trip reports). */
  private readonly publishedAt = new Map<number, number>();
  /** Own publishes that failed and were delivered locally instead: not delivered twice. */
  private readonly deliveredLocally = new Set<number>();
  private readonly replays: ReplayLimit;
  private lastError: Error | undefined;
  /** What the log says about the link, and the counts behind it. */
  private readonly health: LinkHealth;
  private readonly readiness: Readiness;
  private localOnlyCount = 0;
  private receivedCount = 0;
  private publishedCount = 0;
  private recoveredCount = 0;
  private gapCount = 0;
  private errorCount = 0;
  private overflowCount = 0;
  private timeoutCount = 0;
  private skippedCount = 0;
  private prunedCount = 0;
  private presenceStore: PostgresPresence | undefined;

  /** @param options - see {@link PostgresBackplaneOptions}. */
  constructor(options: PostgresBackplaneOptions = {}) {
    this.options = resolveOptions(options);
    this.where = describeConnection(this.options.connectionString, this.options.pool);
    this.replays = new ReplayLimit(this.options.maxReplays);
    const { logger, prefix } = this.options;
    this.health = new LinkHealth(logger, this.where, names(prefix).meta);
    this.readiness = new Readiness(this.where, () => ({
      state: this.state,
      refusal: this.health.refusal,
      lastError: this.lastError,
    }));
  }

  /** Connects to PostgreSQL (creating the tables if needed); called once by the broker. */
  attach(host: BackplaneHost): void {
    if (this.host !== undefined) {
      throw new Error(
        "sse-postgres: backplane: already attached to a broker; create one per broker",
      );
    }
    this.host = host;
    if (this.state === "closed") return;
    const { connectionString, pool, listenConnectionString, timeoutMs, maxReplays, prefix } =
      this.options;
    this.pool =
      pool ??
      new pg.Pool({
        application_name: "burrow-sse",
        connectionString,
        // One statement publishes at a time; replays take at most maxReplays more.
        max: maxReplays + 2,
        connectionTimeoutMillis: timeoutMs,
        keepAlive: true,
        // Every statement bounded on the server from the session's start: one round trip each.
        statement_timeout: timeoutMs,
        lock_timeout: timeoutMs,
        idle_in_transaction_session_timeout: timeoutMs,
      });
    this.ownPool = pool === undefined;
    if (pool === undefined) this.pool.on("error", (error: Error) => this.fail(error));
    const listenConfig: pg.ClientConfig =
      listenConnectionString !== undefined
        ? { connectionString: listenConnectionString }
        : pool !== undefined
          ? { ...(pool as unknown as { options: pg.ClientConfig }).options }
          : { connectionString };
    this.listener = new Listener(listenConfig, timeoutMs, `${prefix}b_${this.origin}`, {
      connected: () => {
        this.generation++;
        this.sync();
      },
      lost: (error) => {
        this.listenerSynced = false;
        this.live.clear();
        // Their echoes, if any, come from the table, not from NOTIFY.
        this.publishedAt.clear();
        this.reassembler.reset();
        this.noteError(error);
        this.fail(error);
      },
      notification: (channel, payload) => this.onNotification(channel, payload),
    });
    this.publisher = new Publisher(
      this.pool,
      prefix,
      timeoutMs,
      this.ownPool,
      () => ({ historySize: host.historySize, origin: this.origin }),
      {
        sent: (batch) => this.sent(batch),
        failed: (batch, error) => this.failed(batch, error),
      },
    );
    this.listener.start();
    this.probe();
    if (host.historySize > 0) {
      const every = Math.min(this.options.retentionMs / 4, 600_000);
      this.pruneTimer = setInterval(() => this.prune(), Math.max(every, 10));
      this.pruneTimer.unref();
    }
  }

  /** Orders `event` through PostgreSQL; while it is unreachable, delivers it on this process only. */
  publish(topic: string, event: SSEEvent): void {
    const host = this.host;
    if (host === undefined || this.state === "closed") return;
    if (this.state !== "ready") {
      this.deliverLocally(topic, event);
      return;
    }
    const publisher = this.publisher!;
    if (publisher.pending >= this.options.maxPending) {
      this.overflow(topic, event);
      return;
    }
    const nonce = ++this.nonce;
    this.awaiting.add(nonce);
    if (this.live.has(topic) && host.report !== undefined) {
      this.publishedAt.set(nonce, performance.now());
      if (this.publishedAt.size > MAX_TIMED) {
        this.publishedAt.delete(this.publishedAt.keys().next().value!);
      }
    }
    publisher.push({
      topic,
      event,
      json: eventJson(event),
      channel: this.channelFor(topic),
      nonce,
    });
  }

  /** LISTENs to `topic`'s channel (now, or as soon as PostgreSQL is reachable). */
  watch(topic: string): void {
    if (this.watched.has(topic) || this.state === "closed") return;
    this.channels.set(channelOf(this.options.prefix, topic), topic);
    this.watched.set(topic, undefined);
    if (this.listener?.connected) this.listen([topic]);
  }

  /** UNLISTENs from `topic`'s channel. */
  unwatch(topic: string): void {
    if (!this.watched.delete(topic)) return;
    const channel = channelOf(this.options.prefix, topic);
    this.channels.delete(channel);
    this.live.delete(topic);
    if (this.listener?.connected) this.listener.query(`UNLISTEN "${channel}"`).catch(() => {});
  }

  /**
   * Resolves once the link is ready (at once if it is); rejects with core's
   * `SSEBackplaneError`: kind `"configuration"` when PostgreSQL refuses the
   * configuration (a missing database, bad credentials; `cause`: pg's
   * error), `"timeout"` after `timeoutMs` (10 s by default), `"closed"` when
   * closed first. Its timer goes when it settles. See {@link ReadyOptions}.
   */
  ready(options?: ReadyOptions): Promise<void> {
    return this.readiness.wait(options);
  }

  /** Why PostgreSQL cannot carry `topic` (a NUL, a lone surrogate); the broker refuses it. */
  topicProblem(topic: string): string | undefined {
    return problemOf(topic);
  }

  /**
   * Reads, in one snapshot, what `topics` retained after `lastEventId`; at
   * most `maxReplays` at a time, nothing for a client that left (`signal`).
   * See {@link Backplane.replay}.
   */
  async replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    const match = /^([0-9a-z]+)-(\d+)$/.exec(lastEventId);
    if (match === null || this.state !== "ready") return undefined;
    const epoch = match[1]!;
    const after = Number(match[2]);
    if (!Number.isSafeInteger(after)) return undefined;
    const release = await this.replays.turn(signal);
    if (release === undefined) {
      if (signal?.aborted) this.skippedCount++;
      return undefined;
    }
    try {
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      await Promise.all(topics.map((topic) => this.watched.get(topic)));
      if (!this.listenerSynced || signal?.aborted) return undefined;
      const events = await this.read(topics, epoch, after);
      if (events === undefined) return undefined;
      // The live copies of the events just read are delivered (or held) before the replay.
      await this.listener!.barrier();
      return { after, events };
    } catch {
      return undefined;
    } finally {
      release();
    }
  }

  /**
   * The id of the latest event ordered through this database and prefix (on
   * any process), for a page rendered now to resume from; undefined without
   * history or while PostgreSQL is unreachable. See {@link Backplane.latest}.
   */
  async latest(): Promise<string | undefined> {
    if (this.host === undefined || this.host.historySize === 0 || this.state !== "ready") {
      return undefined;
    }
    try {
      const head = await this.head();
      return head === undefined ? undefined : `${head.epoch}-${head.seq}`;
    } catch (error) {
      this.noteError(error as Error);
      return undefined;
    }
  }

  /** The link's state and counters. */
  stats(): PostgresBackplaneStats {
    return {
      state: this.state,
      errors: this.errorCount,
      localOnly: this.localOnlyCount,
      received: this.receivedCount,
      topics: this.live.size,
      published: this.publishedCount,
      recovered: this.recoveredCount,
      gaps: this.gapCount,
      lastError: this.lastError?.message,
      pending: this.publisher?.pending ?? 0,
      overflow: this.overflowCount,
      timeouts: this.timeoutCount,
      replays: this.replays.size,
      replaysSkipped: this.skippedCount,
      pruned: this.prunedCount,
      presenceSweeps: this.presenceStore?.sweeps ?? 0,
    };
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
      pool: () => this.pool,
      sessionBounded: this.ownPool,
      prefix: this.options.prefix,
      ttlMs: this.options.presenceTtlMs,
      timeoutMs: this.options.timeoutMs,
      // The link's own statements report its errors; these would repeat them.
      onError: (error) => this.noteError(error),
    });
    return this.presenceStore;
  }

  /**
   * Closes the listening connection, and the pool it made (an app's own
   * `pool` stays open). Idempotent; the broker's `close()` calls it.
   */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    const previous = this.state;
    this.state = "closed";
    this.report({ kind: "state", state: "closed", previous });
    this.readiness.settle();
    this.publishedAt.clear();
    // Marks this process's members expired, before the pool closes.
    const presence = this.presenceStore?.close();
    clearTimeout(this.probeTimer);
    clearTimeout(this.syncTimer);
    clearInterval(this.pruneTimer);
    this.watched.clear();
    this.channels.clear();
    this.live.clear();
    this.replays.flush();
    this.publisher?.stop();
    const closing: Promise<unknown>[] = [];
    if (this.listener !== undefined) closing.push(this.listener.close());
    await presence;
    if (this.pool !== undefined && this.options.pool === undefined) {
      closing.push(this.pool.end().catch(() => {}));
    }
    await Promise.all(closing);
  }

  private channelFor(topic: string): string {
    return channelOf(this.options.prefix, topic);
  }

  /** The epoch and the counter, now (undefined: no meta row). */
  private async head(): Promise<{ epoch: string; seq: number } | undefined> {
    const [head] = await transaction(
      this.pool!,
      this.options.timeoutMs,
      [{ text: headStatement(this.options.prefix) }],
      this.ownPool,
    );
    const row = head?.rows[0] as { epoch: string; seq: string } | undefined;
    return row === undefined ? undefined : { epoch: row.epoch, seq: Number(row.seq) };
  }

  /** LISTENs to the channels of `topics` on the current connection; marks them live once answered. */
  private listen(topics: readonly string[]): Promise<void> {
    const sql = topics.map((topic) => `LISTEN "${this.channelFor(topic)}"`).join("; ");
    const answer = this.listener!.query(sql).then(() => {
      for (const topic of topics) if (this.watched.has(topic)) this.live.add(topic);
    });
    answer.catch(() => {});
    for (const topic of topics) if (this.watched.has(topic)) this.watched.set(topic, answer);
    return answer;
  }

  /** Deletes events older than `retentionMs` (see {@link pruneStatements}); counts them. */
  private prune(): void {
    if (this.pruning || this.state !== "ready") return;
    this.pruning = true;
    const { prefix, timeoutMs, retentionMs } = this.options;
    transaction(this.pool!, timeoutMs, pruneStatements(prefix, retentionMs))
      .then(
        ([, result]) => {
          this.prunedCount += Number(result?.rows[0]?.deleted ?? 0);
        },
        (error: Error) => {
          // Not a reason to go down: publishes tell whether PostgreSQL answers.
          this.noteError(error);
          this.lastError = error;
        },
      )
      .finally(() => {
        this.pruning = false;
      });
  }

  /**
   * Checks the publishing side, creating the tables first if they are
   * missing, until it answers; then reports ready (with the listener synced).
   */
  private probe(): void {
    if (this.probing || this.publisherUp || this.state === "closed") return;
    this.probing = true;
    clearTimeout(this.probeTimer);
    const { prefix, timeoutMs } = this.options;
    const run = async (): Promise<void> => {
      if (!this.schemaReady) {
        const [check] = await transaction(
          this.pool!,
          timeoutMs,
          [schemaCheckStatement(prefix)],
          this.ownPool,
        );
        if (check?.rows[0]?.ready !== true) {
          const epoch = `${Date.now().toString(36)}${this.origin.slice(0, 4)}`;
          await transaction(this.pool!, timeoutMs, schemaStatements(prefix, epoch));
        }
        this.schemaReady = true;
      }
      await transaction(this.pool!, timeoutMs, [{ text: probeStatement(prefix) }], this.ownPool);
    };
    run().then(
      () => {
        this.probing = false;
        this.probeAttempts = 0;
        this.publisherUp = true;
        // A first sync may have waited for the tables (see sync).
        this.sync();
      },
      (error: Error) => {
        this.probing = false;
        this.noteError(error);
        this.fail(error);
        if (this.state === "closed") return;
        const delay = Math.min(2000, 100 * 2 ** Math.min(this.probeAttempts++, 5));
        this.probeTimer = setTimeout(() => this.probe(), delay);
        this.probeTimer.unref();
      },
    );
  }

  /**
   * Once the listening connection is up: LISTENs to every watched topic,
   * then recovers from the table what was published while it was cut,
   * holding live notifications meanwhile, and only then reports ready.
   * The first sync (with history on) reads the counter before its LISTEN:
   * recovery starts there, so that a connection cut before any event came
   * through PostgreSQL still recovers what was published meanwhile. It
   * waits for the tables (the probe syncs again once they are there).
   */
  private sync(): void {
    const listener = this.listener!;
    const baseline = this.order.epoch === undefined && this.host!.historySize > 0;
    if (
      this.syncing ||
      this.listenerSynced ||
      !listener.connected ||
      this.state === "closed" ||
      (baseline && !this.schemaReady)
    ) {
      this.update();
      return;
    }
    this.syncing = true;
    this.held = [];
    const generation = this.generation;
    const run = async (): Promise<void> => {
      if (baseline) {
        // Read before the LISTEN: what commits after it is notified, or read by the catch-up.
        const head = await this.head();
        if (head !== undefined && this.order.epoch === undefined) {
          this.order.epoch = head.epoch;
          this.order.lastSeq = head.seq;
        }
      }
      const topics = [...this.watched.keys()];
      if (topics.length > 0) await this.listen(topics);
      const { epoch, lastSeq } = this.order;
      if (epoch !== undefined && topics.length > 0) {
        const missed =
          this.host!.historySize > 0 ? await this.read(topics, epoch, lastSeq) : undefined;
        if (missed === undefined) {
          this.gapCount++;
          this.health.gap();
        } else {
          for (const { topic, event, seq, origin } of missed) {
            if (seq <= this.order.lastSeq) continue;
            const delivered = this.ownDelivered(origin);
            if (!delivered) this.recoveredCount++;
            this.dispatch({ topic, event, seq, epoch, delivered });
          }
        }
      }
      if (generation === this.generation && listener.connected) this.listenerSynced = true;
    };
    run()
      .catch((error: Error) => {
        this.noteError(error);
        this.fail(error);
      })
      .finally(() => {
        this.syncing = false;
        const held = this.held ?? [];
        this.held = undefined;
        // Unsynced, they are read from the table by the next sync, after what is missing.
        if (this.listenerSynced) for (const message of held) this.dispatch(message);
        else if (listener.connected && this.state !== "closed") {
          // Still connected but not caught up (a read failed): try again.
          clearTimeout(this.syncTimer);
          this.syncTimer = setTimeout(() => this.sync(), 200);
          this.syncTimer.unref();
        }
        this.update();
      });
  }

  /** What `topics` retained after `after` in `epoch` (see {@link readHistory}). */
  private read(
    topics: readonly string[],
    epoch: string,
    after: number,
  ): Promise<StoredEvent[] | undefined> {
    const { prefix, timeoutMs } = this.options;
    const source = { pool: this.pool!, prefix, timeoutMs, sessionBounded: this.ownPool };
    return readHistory(source, topics, epoch, after, this.host?.historySize ?? 0);
  }

  private onNotification(channel: string, payload: string): void {
    const topic = this.channels.get(channel);
    if (topic === undefined) return;
    const notified = this.reassembler.add(payload);
    if (notified === undefined) return;
    const event = parseEventJson(notified.json);
    if (event === undefined) return;
    const { seq, epoch } = notified;
    const delivered = this.ownDelivered(notified.origin);
    if (notified.assigned && !event.id) event.id = `${epoch}-${seq}`;
    const message: Message = { topic, seq, epoch, event, delivered };
    if (this.held !== undefined) this.held.push(message);
    else this.dispatch(message);
  }

  /** PostgreSQL ordered these own publishes. */
  private sent(batch: readonly Outgoing[]): void {
    this.publishedCount += batch.length;
    for (const outgoing of batch) this.awaiting.delete(outgoing.nonce);
    if (this.publisher!.pending === 0) this.health.drained();
  }

  /** Whether PostgreSQL ordered these is unknown: deliver them here, once. */
  private failed(batch: readonly Outgoing[], error: Error): void {
    if (this.state === "closed") return;
    const code = (error as { code?: string }).code;
    if (code !== undefined && MISSING_SCHEMA.has(code)) this.schemaReady = false;
    this.noteError(error);
    this.publisherUp = false;
    this.fail(error);
    this.health.batchFailed(error);
    for (const { topic, event, nonce } of batch) {
      // Its echo came already: PostgreSQL ran it (so it counts as published), and it was delivered here.
      if (!this.awaiting.delete(nonce)) {
        this.publishedCount++;
        continue;
      }
      // Whether it committed is unknown: deliver it here, and not again if its echo comes.
      this.deliveredLocally.add(nonce);
      if (this.deliveredLocally.size > MAX_DELIVERED_LOCALLY) {
        this.deliveredLocally.delete(this.deliveredLocally.values().next().value!);
      }
      this.deliverLocally(topic, event);
    }
    // Not sent, so no echo can come: delivered here at once.
    for (const { topic, event, nonce } of this.publisher!.drain()) {
      this.awaiting.delete(nonce);
      this.deliverLocally(topic, event);
    }
    this.probe();
  }

  /**
   * For an event seen through PostgreSQL: whether this process published it
   * and already delivered it locally (its answer was lost).
   */
  private ownDelivered(origin: string): boolean {
    const [from, nonceText] = origin.split(":");
    if (from !== this.origin) return false;
    const nonce = Number(nonceText);
    this.awaiting.delete(nonce);
    const at = this.publishedAt.get(nonce);
    if (at !== undefined) {
      this.publishedAt.delete(nonce);
      this.report({ kind: "roundTrip", seconds: (performance.now() - at) / 1000 });
    }
    if (this.deliveredLocally.size === 0) return false;
    const delivered = this.deliveredLocally.delete(nonce);
    // Own publishes are ordered in the order they were sent: older ones will not come any more.
    for (const old of this.deliveredLocally) if (old < nonce) this.deliveredLocally.delete(old);
    return delivered;
  }

  /**
   * Delivers an event from PostgreSQL in order, once: a seq already
   * delivered is skipped; a new epoch (the tables were dropped and created
   * again: the counter started over) starts the order over.
   */
  private dispatch(message: Message): void {
    if (this.state === "closed") return;
    const host = this.host!;
    if (this.order.dispatch(message, (topic, event, seq) => host.deliver(topic, event, seq))) {
      this.receivedCount++;
    }
  }

  /** Tells the broker's observers (see {@link BackplaneHost.report}); never throws. */
  private report(report: BackplaneReport): void {
    try {
      this.host?.report?.(report);
    } catch {
      // An observer's failure is not the link's.
    }
  }

  private deliverLocally(topic: string, event: SSEEvent): void {
    this.localOnlyCount++;
    this.health.deliveredLocally();
    this.host!.deliver(topic, { ...event }, 0);
  }

  private overflow(topic: string, event: SSEEvent): void {
    this.overflowCount++;
    this.health.overflowed(this.options.maxPending);
    this.host!.deliver(topic, { ...event }, 0);
  }

  /** Counts a timeout; remembers the error. */
  private noteError(error: Error): void {
    if (isTimeout(error)) this.timeoutCount++;
  }

  private fail(error: Error): void {
    this.lastError = error;
    // A configuration refused is logged here, once per distinct one; outages once per change.
    this.health.failed(error);
    this.update();
  }

  /** Recomputes the state; reports and logs a change once; settles `ready()` calls. */
  private update(): void {
    if (this.state === "closed") return;
    const next = nextBackplaneState(
      this.state,
      this.publisherUp && this.listenerSynced && this.listener?.connected === true,
      this.lastError !== undefined,
    );
    if (next !== this.state) {
      const previous = this.state;
      this.state = next;
      this.report({ kind: "state", state: next, previous });
      if (next === "down") {
        this.presenceStore?.down();
        this.errorCount++;
        this.replays.flush();
      }
      this.health.changed(previous, next, this.lastError);
    }
    this.readiness.settle();
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
