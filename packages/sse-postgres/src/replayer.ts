/**
 * Resumes: reading what a client's topics retained after its
 * `Last-Event-ID`, once their LISTENs are answered, through reads shared
 * with the other resumes of the same topics (the backplane kit's
 * `SharedReads`: one snapshot per topic read), at most `maxReplays` reads
 * at a time (fewer while PostgreSQL answers slowly), and ordered after the
 * live copies of what was read; and, the same way, a topic's latest event.
 * Internal.
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
import { within } from "./transaction.js";

/** The resumes of one backplane. Internal. */
export class Replayer {
  /** Reads at once, adapted to how fast PostgreSQL answers, at most `maxReplays`. */
  readonly limit: AdaptiveLimit;
  private readonly reads: SharedReads<StoredEvent>;
  /** One NOTIFY to itself for the replays whose reads ended in the same turn. */
  private readonly barriers = new SharedBarrier(() =>
    this.link.listener!.barrier().then(() => true),
  );
  private resuming = 0;
  private left = 0;

  constructor(
    private readonly link: Link,
    private readonly subscriptions: Subscriptions,
    maxReplays: number,
  ) {
    this.limit = new AdaptiveLimit({ max: maxReplays, initial: maxReplays });
    const read: RangeReader<StoredEvent> = (topic, epoch, after, count) =>
      this.link.state === "ready"
        ? readRange(this.link.history(), topic, epoch, after, count)
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

  /** Turns the resumes waiting for a read into misses (the link is down, or closed). */
  flush(): void {
    this.reads.flush();
  }

  /**
   * What `topics` retained after `lastEventId`, at most `historySize` per
   * topic (see the backplane's `replay`); undefined on a miss.
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
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      await this.subscriptions.answered(topics);
      if (!this.link.synced || this.link.state !== "ready" || signal?.aborted) {
        if (signal?.aborted) this.left++;
        return undefined;
      }
      const events = await sharedReplay(this.reads, topics, id.epoch, id.seq, historySize, signal);
      // The live copies of the events just read are delivered (or held) before the replay; a
      // client that leaves meanwhile is settled at once.
      if (events === undefined || !(await this.barriers.wait(signal))) return undefined;
      return { after: id.seq, events };
    } catch {
      return undefined;
    } finally {
      this.resuming--;
    }
  }

  /**
   * `topic`'s newest event (see the backplane's `last`), read once its
   * LISTEN is answered, and resolved after the live copies of what was
   * read; undefined without history, while the link is not ready, past
   * `timeoutMs` (in all), or on an error. Never rejects.
   */
  async last(
    topic: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneEvent | undefined> {
    if (historySize === 0 || this.link.state !== "ready") return undefined;
    const source = this.link.history();
    const read = async (): Promise<BackplaneEvent | undefined> => {
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      await this.subscriptions.answered([topic]);
      if (!this.link.synced || signal?.aborted) return undefined;
      const event = await readLast(source, topic);
      if (event !== undefined) await this.link.listener!.barrier();
      return event;
    };
    return within(read(), source.timeoutMs, "a read of a topic's latest event").catch(
      () => undefined,
    );
  }
}
