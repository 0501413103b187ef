/**
 * Publishing from this process: each publish queued for PostgreSQL once
 * (the {@link BatchQueue} sends them in batches), as many waiting as the
 * kit's `PendingBound` admits (`maxPending` while PostgreSQL does not
 * answer; past it, delivered here only, and a gap marker per topic sent once
 * it answers again), one whose batch failed delivered here and not a second
 * time when its echo comes, and the round trip of each one that comes back.
 * Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { ownNonce, PendingBound, RecentPublishes } from "@burrow/sse-core/adapter";
import type { Pool } from "pg";
import { BatchQueue, type Outgoing } from "./batch-queue.js";
import type { PostgresLinkLog } from "./link-log.js";
import { eventJson } from "./payload.js";

/** Own publishes whose answer was lost and that were delivered here: remembered at most this many. */
const MAX_DELIVERED_LOCALLY = 10_000;

/** Own publishes whose echo is awaited for a round-trip report: remembered at most this many. */
const MAX_TIMED = 10_000;

/** What the {@link Publisher} needs around it. */
export interface PublisherHooks {
  /** Hands an event to this process's clients only (seq 0). */
  deliverHere(topic: string, event: SSEEvent): void;
  /** A batch failed with `error` (whether PostgreSQL ordered it is unknown): the link is told. */
  failed(error: Error): void;
  /** The batch's events were delivered here: check the publishing side again. */
  retry(): void;
  /** An own publish came back from PostgreSQL, `seconds` after it was published. */
  roundTrip(seconds: number): void;
}

/** Where the {@link Publisher} sends: the pool and how its statements are bounded. */
export interface PublishPool {
  pool: Pool;
  prefix: string;
  timeoutMs: number;
  /** The pool's sessions are bounded already: one round trip per statement. */
  sessionBounded: boolean;
  /** The broker's `historySize`: the table's cap per topic, and whether ids are assigned. */
  historySize: number;
}

/** This process's publishes and their bookkeeping. Internal. */
export class Publisher {
  /** Events PostgreSQL ordered for this process, ever. */
  published = 0;
  /** Events delivered here only while the link was not ready, ever. */
  localOnly = 0;
  /** Events delivered here only because `maxPending` were waiting and PostgreSQL did not answer, ever. */
  overflow = 0;
  private queue: BatchQueue | undefined;
  private readonly bound: PendingBound;
  /** Topics whose events overflowed, and their channels: a gap marker each is owed. */
  private readonly dropped = new Map<string, string>();
  private nonce = 0;
  /** Own publishes sent whose answer and echo are both still awaited. */
  private readonly awaiting = new Set<number>();
  /** Own publishes to a topic listened to here -> when `publish` was called (for round-trip reports). */
  private readonly publishedAt = new RecentPublishes<number>(MAX_TIMED);
  /** Own publishes that failed and were delivered locally instead: not delivered twice. */
  private readonly deliveredLocally = new RecentPublishes<true>(MAX_DELIVERED_LOCALLY);

  /**
   * @param origin - this process's random id, stamped on each publish.
   */
  constructor(
    private readonly origin: string,
    limits: { maxPending: number; checkMs: number },
    private readonly log: PostgresLinkLog,
    private readonly hooks: PublisherHooks,
  ) {
    this.bound = new PendingBound(limits.maxPending, limits.checkMs, () => this.pending);
  }

  /** Events waiting for PostgreSQL (queued or being sent), now. */
  get pending(): number {
    return this.queue?.pending ?? 0;
  }

  /** Starts sending through `target` (the link is attached). */
  start(target: PublishPool): void {
    const { pool, prefix, timeoutMs, sessionBounded, historySize } = target;
    const settings = () => ({ historySize, origin: this.origin });
    this.queue = new BatchQueue(pool, prefix, timeoutMs, sessionBounded, settings, {
      sent: (batch) => this.sent(batch),
      failed: (batch, error) => this.failed(batch, error),
    });
  }

  /**
   * Queues `event` for PostgreSQL on `channel`, to be ordered and echoed;
   * `timed`: its round trip is reported when it comes back. When the
   * bound admits no more (see `PendingBound`), delivers it here only
   * instead, and owes the other processes a gap marker for `topic`.
   */
  send(topic: string, event: SSEEvent, channel: string, timed: boolean): void {
    const queue = this.queue!;
    if (!this.bound.admits()) {
      this.overflow++;
      this.log.overflowed(this.bound.maxPending);
      this.dropped.set(topic, channel);
      this.hooks.deliverHere(topic, { ...event });
      return;
    }
    const nonce = ++this.nonce;
    this.awaiting.add(nonce);
    if (timed) {
      this.publishedAt.set(nonce, performance.now());
    }
    queue.push({ topic, event, json: eventJson(event), channel, nonce });
    this.bound.waiting();
  }

  /**
   * Queues a gap marker for each topic whose events overflowed, if any:
   * called once PostgreSQL answers (a batch committed, the link is ready).
   */
  sendGaps(): void {
    const queue = this.queue;
    if (queue === undefined || this.dropped.size === 0) return;
    for (const [topic, channel] of this.dropped) {
      queue.push({ topic, event: {}, json: "", channel, nonce: 0, gap: true });
    }
    this.dropped.clear();
    this.bound.waiting();
  }

  /** Delivers `event` here only: the link is not ready. */
  deliverHere(topic: string, event: SSEEvent): void {
    this.localOnly++;
    this.log.deliveredLocally();
    this.hooks.deliverHere(topic, { ...event });
  }

  /**
   * For an event seen through PostgreSQL (live or recovered), published by
   * `origin`: whether this process published it and delivered it here
   * already (its answer was lost). An own event coming back reports its
   * round trip.
   */
  echo(origin: string): boolean {
    const nonce = ownNonce(origin, this.origin);
    if (nonce === undefined) return false;
    this.awaiting.delete(nonce);
    const at = this.publishedAt.take(nonce);
    if (at !== undefined) this.hooks.roundTrip((performance.now() - at) / 1000);
    // Not pruned by order: a batch that timed out on a hung server may commit after a newer
    // batch sent on another connection, so an older echo can still come (bounded by the cap).
    return this.deliveredLocally.size > 0 && this.deliveredLocally.delete(nonce);
  }

  /** The listening connection is gone: echoes, if any, come from the table, not timed. */
  forgetTimes(): void {
    this.publishedAt.clear();
  }

  /** Sends nothing more; what is out is not reported. */
  close(): void {
    this.publishedAt.clear();
    this.bound.stop();
    this.queue?.stop();
  }

  /** PostgreSQL ordered these own publishes (and gap markers). */
  private sent(batch: readonly Outgoing[]): void {
    this.bound.answered();
    for (const outgoing of batch) {
      if (outgoing.gap) continue;
      this.published++;
      this.awaiting.delete(outgoing.nonce);
    }
    this.sendGaps();
    if (this.pending === 0) this.log.drained();
  }

  /** Whether PostgreSQL ordered these is unknown: deliver them here, once. */
  private failed(batch: readonly Outgoing[], error: Error): void {
    this.hooks.failed(error);
    for (const { topic, event, nonce, gap, channel } of batch) {
      // Whether it reached the others is unknown: owed again (a second marker only repairs twice).
      if (gap) {
        this.dropped.set(topic, channel);
        continue;
      }
      // Its echo came already: PostgreSQL ran it (so it counts as published), and it was delivered here.
      if (!this.awaiting.delete(nonce)) {
        this.published++;
        continue;
      }
      // Whether it committed is unknown: deliver it here, and not again if its echo comes.
      this.deliveredLocally.set(nonce, true);
      this.deliverHere(topic, event);
    }
    // Not sent, so no echo can come: delivered here at once.
    for (const { topic, event, nonce, gap, channel } of this.queue!.drain()) {
      if (gap) {
        this.dropped.set(topic, channel);
        continue;
      }
      this.awaiting.delete(nonce);
      this.deliverHere(topic, event);
    }
    this.hooks.retry();
  }
}
