/**
 * Resumes: reading what a client's topics retained after its
 * `Last-Event-ID`, once its live deliveries have started, through reads
 * shared with the other resumes of the same topics (the backplane kit's
 * `SharedReads`), at most `maxReplays` reads at a time (fewer while Redis
 * answers slowly), and ordered before the live copies of what was read;
 * and, the same way, a topic's latest event. Internal.
 */
import {
  AdaptiveLimit,
  type BackplaneEvent,
  type BackplaneReplay,
  parseEventId,
  type RangeReader,
  ReplayQueue,
  SharedBarrier,
  SharedReads,
  sharedReplay,
} from "@burrow/sse-core/adapter";
import { readLast, readRange, type StoredEvent } from "./history-reader.js";
import type { Link } from "./link.js";
import type { Subscriptions } from "./subscriptions.js";
import { within } from "./within.js";

/** The resumes of one backplane. Internal. */
export class Replayer {
  /** Reads at once, adapted to how fast Redis answers, at most `maxReplays`. */
  readonly limit: AdaptiveLimit;
  private readonly reads: SharedReads<StoredEvent>;
  /** One PING for the replays whose reads ended in the same turn. */
  private readonly barriers = new SharedBarrier(() => this.barrier());
  private resuming = 0;
  private left = 0;

  constructor(
    private readonly link: Link,
    private readonly subscriptions: Subscriptions,
    private readonly options: { prefix: string; timeoutMs: number; maxReplays: number },
  ) {
    this.limit = new AdaptiveLimit({ max: options.maxReplays, initial: options.maxReplays });
    const { prefix, timeoutMs } = options;
    const read: RangeReader<StoredEvent> = (...args) =>
      this.link.state === "ready"
        ? readRange({ redis: this.link.command!, prefix, timeoutMs }, ...args)
        : Promise.resolve(undefined);
    this.reads = new SharedReads(read, new ReplayQueue(this.limit), (ms, size) =>
      this.limit.sample(ms, size),
    );
  }

  /** Resumes waiting for their live deliveries, their reads or their barrier, now. */
  get size(): number {
    return this.resuming;
  }

  /** Resumes whose client left before their read started: nothing was read for them, ever. */
  get skipped(): number {
    return this.left + this.reads.skipped;
  }

  /** History reads run for resumes, ever (each shared by the resumes of its topic waiting). */
  get readsRun(): number {
    return this.reads.reads;
  }

  /** Turns the resumes waiting for a read into misses (Redis is down, or closed). */
  flush(): void {
    this.reads.flush();
  }

  /**
   * What `topics` retained after `lastEventId`, in pages of history at most
   * `historySize` long (see the backplane's `replay`); undefined on a miss.
   */
  async replay(
    topics: readonly string[],
    lastEventId: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    const id = parseEventId(lastEventId);
    if (id === undefined || historySize === 0 || this.link.state !== "ready") return undefined;
    this.resuming++;
    try {
      const { timeoutMs } = this.options;
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      const watching = this.subscriptions.answered(topics);
      if ((await within(watching, timeoutMs, false)) === false) return undefined;
      if (!this.link.synced || this.link.state !== "ready" || signal?.aborted) {
        if (signal?.aborted) this.left++;
        return undefined;
      }
      const events = await sharedReplay(this.reads, topics, id.epoch, id.seq, historySize, signal);
      if (events === undefined || !(await this.barriers.wait())) return undefined;
      return { after: id.seq, events };
    } finally {
      this.resuming--;
    }
  }

  /**
   * `topic`'s latest event (see the backplane's `last`), read once its
   * SUBSCRIBE is answered, and resolved after the live copies of what was
   * read; undefined without history, while Redis is not ready, past
   * `timeoutMs` (in all), or on an error. Never rejects.
   */
  async last(
    topic: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneEvent | undefined> {
    if (historySize === 0 || this.link.state !== "ready") return undefined;
    const read = async (): Promise<BackplaneEvent | undefined> => {
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      await this.subscriptions.answered([topic]);
      if (!this.link.synced || signal?.aborted || this.link.state !== "ready") return undefined;
      const event = await readLast(this.link.command!, this.options.prefix, topic);
      return event !== undefined && (await this.barrier()) ? event : undefined;
    };
    return within(read(), this.options.timeoutMs, undefined).catch(() => undefined);
  }

  /**
   * Redis's head (its epoch, set to `fresh` now on an empty Redis, and the
   * last seq ordered), within `timeoutMs`.
   */
  async head(fresh: string): Promise<{ epoch: string; seq: number }> {
    const answer = this.link.command!.sseLatest(`${this.options.prefix}meta`, fresh);
    const reply = await within(answer, this.options.timeoutMs, undefined);
    if (reply === undefined)
      throw new Error(`Redis did not answer within ${this.options.timeoutMs} ms`);
    return { epoch: reply[0], seq: Number(reply[1]) };
  }

  /**
   * Whether the live copies of what was just read were delivered (or held)
   * first: Redis answers this PING on the subscriber after the messages it
   * queued there before. False when it does not answer within `timeoutMs`.
   */
  private async barrier(): Promise<boolean> {
    const answered = this.link.subscriber!.ping().then(() => true);
    return await within(answered, this.options.timeoutMs, false);
  }
}
