/**
 * Resumes that share history reads: the replays of many clients of a topic
 * mostly ask for the same range, so one read of the topic serves every
 * replay waiting for it, each its own slice.
 */
import { ABORTED } from "../base/abort-reason.js";
import type { ReplayQueue } from "./replay-queue.js";
import { StormHold } from "./storm-hold.js";

/** One entry of a topic's retained range, in seq order. */
export interface RangeEntry<E> {
  seq: number;
  /** What the engine stored there; undefined when it is not an event (it still counts). */
  value: E | undefined;
}

/** What an engine's read of one topic's retained range found. */
export interface TopicRange<E> {
  /** The entries after the cursor read from, in seq order: at most the count asked for. */
  entries: readonly RangeEntry<E>[];
  /** Fewer than the count asked for were there: the read reached the topic's newest entry. */
  complete: boolean;
  /**
   * The engine's counter when the read ended: a cursor above it was never
   * issued; a complete read holds every entry of the topic up to it.
   */
  head: number;
  /** Entries of the topic up to this seq may be gone (evicted, trimmed): a cursor below it is a miss. */
  floor: number;
}

/**
 * Reads `count` entries of `topic` after `after` in `epoch`; undefined when
 * the epoch is another or the engine did not answer (a miss for all who
 * wait); stops early (undefined) when `signal` aborts (nobody waits any more).
 */
export type RangeReader<E> = (
  topic: string,
  epoch: string,
  after: number,
  count: number,
  signal: AbortSignal,
) => Promise<TopicRange<E> | undefined>;

/** A replay's share of a read: the topic's entries after its cursor. */
export interface RangeSlice<E> {
  /** Every entry of the topic after the cursor up to {@link upTo}, in seq order. */
  entries: readonly RangeEntry<E>[];
  /** The seq the slice is complete up to: later events of the topic come live. */
  upTo: number;
}

interface Waiter<E> {
  readonly after: number;
  /** Leaves with its slice, or a miss. */
  resolve(slice: RangeSlice<E> | undefined): void;
  /** Leaves its batch for the next read of the topic. */
  rejoin(): void;
}

/** The waiters of one topic (and epoch, and limit), and its read once it runs. */
interface Batch<E> {
  readonly key: string;
  readonly waiters: Set<Waiter<E>>;
  /** Aborted when nobody waits any more: the read stops, or never starts. */
  readonly stop: AbortController;
  running: boolean;
  /** Starts the read, once the topic's running read ends. */
  next: (() => void) | undefined;
}

/**
 * A backplane's history reads for resumes, shared: {@link SharedReads.slice}
 * joins the batch of its topic that has not started reading yet (or starts
 * one); a batch takes a turn of the {@link ReplayQueue} (whose limit may
 * adapt), at most one read per topic runs at once, and arrivals meanwhile
 * wait for the next. A read starts at the lowest cursor waiting and reads
 * at most `limit + 1` entries past the highest (`limit`: `historySize`);
 * each waiter gets the entries after its cursor, or a miss: its cursor was
 * never issued, entries after it are gone, or more than `limit` follow it.
 * A waiter a read left undecided (more entries follow than were read) waits
 * for the next. A waiter whose `signal` aborts leaves at once (reading
 * nothing if its read had not started); {@link SharedReads.flush} turns
 * every waiter into a miss.
 *
 * Safe for resumes because a batch's read starts after each of its waiters
 * joined, that is after their live deliveries had started.
 *
 * @example
 * ```ts
 * const reads = new SharedReads(readRange, new ReplayQueue(new AdaptiveLimit({ max: 4 })));
 * const slice = await reads.slice("t", epoch, cursor, historySize, signal);
 * if (slice === undefined) return undefined; // a miss
 * ```
 */
export class SharedReads<E> {
  /** Reads run, ever (each served every waiter of its topic). */
  reads = 0;
  /** Waiters that left before their read started: nothing was read for them, ever. */
  skipped = 0;
  private readonly pending = new Map<string, Batch<E>>();
  private readonly running = new Map<string, Batch<E>>();
  private waiting = 0;

  /**
   * @param read - the engine's read of a topic's range.
   * @param queue - the line reads take turns in.
   * @param measure - told each read's latency in milliseconds and the entries it asked for (to adapt the limit).
   * @param now - the clock that measures it.
   * @param hold - holds reads back while resumes arrive in a storm ({@link StormHold}).
   */
  constructor(
    private readonly read: RangeReader<E>,
    private readonly queue: ReplayQueue,
    private readonly measure: (latencyMs: number, size: number) => void = () => {},
    private readonly now: () => number = () => performance.now(),
    readonly hold: StormHold = new StormHold(),
  ) {}

  /** Waiters now: in a batch not started, or in a read running. */
  get size(): number {
    return this.waiting;
  }

  /**
   * The entries of `topic` after `after` in `epoch`, at most `limit`;
   * undefined on a miss, when `signal` aborts, or on {@link flush}.
   */
  slice(
    topic: string,
    epoch: string,
    after: number,
    limit: number,
    signal?: AbortSignal,
  ): Promise<RangeSlice<E> | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    this.hold.arrive();
    return new Promise((resolve) => {
      this.waiting++;
      const key = `${epoch}\n${limit}\n${topic}`;
      let batch: Batch<E> | undefined;
      const onAbort = (): void => {
        if (batch !== undefined && !batch.running) this.skipped++;
        waiter.resolve(undefined);
      };
      const waiter: Waiter<E> = {
        after,
        resolve: (slice) => {
          if (batch === undefined) return;
          batch.waiters.delete(waiter);
          if (batch.waiters.size === 0) this.drop(batch);
          batch = undefined;
          this.waiting--;
          signal?.removeEventListener("abort", onAbort);
          resolve(slice);
        },
        rejoin: () => {
          batch?.waiters.delete(waiter);
          batch = this.batch(key, topic, epoch, limit);
          batch.waiters.add(waiter);
        },
      };
      waiter.rejoin();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Turns every waiter into a miss (the link went down, or closed); reads running stop. */
  flush(): void {
    for (const batch of [...this.pending.values(), ...this.running.values()]) {
      for (const waiter of [...batch.waiters]) waiter.resolve(undefined);
    }
  }

  /** The batch of `key` not started yet, made (and lined up) if none. */
  private batch(key: string, topic: string, epoch: string, limit: number): Batch<E> {
    const existing = this.pending.get(key);
    if (existing !== undefined) return existing;
    const batch: Batch<E> = {
      key,
      waiters: new Set(),
      stop: new AbortController(),
      running: false,
      next: undefined,
    };
    this.pending.set(key, batch);
    const start = (): void => void this.run(batch, topic, epoch, limit);
    // One read per topic at once: the next waits for the one running. Else it starts once this
    // turn of the event loop is over (the requests already received join it), or once a storm of
    // resumes has passed (all of them join it).
    if (this.running.has(key)) batch.next = start;
    else this.hold.run(start, batch.stop.signal);
    return batch;
  }

  /** A batch nobody waits for any more: its read stops, or never starts. */
  private drop(batch: Batch<E>): void {
    batch.stop.abort(ABORTED);
    if (this.pending.get(batch.key) === batch) this.pending.delete(batch.key);
  }

  private async run(batch: Batch<E>, topic: string, epoch: string, limit: number): Promise<void> {
    const release = await this.queue.turn(batch.stop.signal);
    if (release === undefined || batch.waiters.size === 0) {
      release?.();
      this.following(batch.key);
      return;
    }
    if (this.pending.get(batch.key) === batch) this.pending.delete(batch.key);
    batch.running = true;
    this.running.set(batch.key, batch);
    let range: TopicRange<E> | undefined;
    try {
      // A loop, not Math.min(...cursors): a storm's batch may hold more waiters than arguments fit.
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      for (const { after } of batch.waiters) {
        low = Math.min(low, after);
        high = Math.max(high, after);
      }
      const count = Math.min(limit + 1 + (high - low), 2 * (limit + 1));
      const started = this.now();
      this.reads++;
      range = await this.read(topic, epoch, low, count, batch.stop.signal).catch(() => undefined);
      // Slow answers and timeouts alike shrink the limit; a read stopped for nobody tells nothing.
      if (!batch.stop.signal.aborted) this.measure(this.now() - started, count);
    } finally {
      release();
      this.running.delete(batch.key);
    }
    for (const waiter of [...batch.waiters]) this.serve(waiter, range, limit);
    this.following(batch.key);
  }

  /** Starts the batch that waited for `key`'s read to end, if any. */
  private following(key: string): void {
    const next = this.pending.get(key);
    const start = next?.next;
    if (next !== undefined && start !== undefined && !this.running.has(key)) {
      next.next = undefined;
      this.hold.run(start, next.stop.signal);
    }
  }

  /** Gives `waiter` its slice of `range`, a miss, or a place in the next read. */
  private serve(waiter: Waiter<E>, range: TopicRange<E> | undefined, limit: number): void {
    const { after } = waiter;
    if (range === undefined || after > range.head || after < range.floor) {
      waiter.resolve(undefined);
      return;
    }
    const entries = range.entries.filter((entry) => entry.seq > after);
    if (entries.length > limit) waiter.resolve(undefined);
    else if (range.complete) waiter.resolve({ entries, upTo: range.head });
    else waiter.rejoin();
  }
}
