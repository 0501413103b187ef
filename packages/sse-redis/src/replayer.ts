/**
 * Resumes: reading what a client's topics retained after its
 * `Last-Event-ID`, once its live deliveries have started, at most
 * `maxReplays` at a time, and ordered before the live copies of what was
 * read. Internal.
 */
import { type BackplaneReplay, parseEventId, ReplayQueue } from "@burrow/sse-core/adapter";
import { readHistory } from "./history-reader.js";
import type { Link } from "./link.js";
import type { Subscriptions } from "./subscriptions.js";
import { within } from "./within.js";

/** The resumes of one backplane. Internal. */
export class Replayer {
  /** Resumes whose client left before their turn: nothing was read for them, ever. */
  skipped = 0;
  private readonly queue: ReplayQueue;

  constructor(
    private readonly link: Link,
    private readonly subscriptions: Subscriptions,
    private readonly options: { prefix: string; timeoutMs: number; maxReplays: number },
  ) {
    this.queue = new ReplayQueue(options.maxReplays);
  }

  /** Resumes reading or waiting their turn, now. */
  get size(): number {
    return this.queue.size;
  }

  /** Sends the resumes waiting their turn away, as misses (Redis is down, or closed). */
  flush(): void {
    this.queue.flush();
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
    const { timeoutMs } = this.options;
    // Live deliveries must have started before the read: then the two overlap, never leave a hole.
    const watching = this.subscriptions.answered(topics);
    if ((await within(watching, timeoutMs, false)) === false) return undefined;
    if (!this.link.synced) return undefined;
    const release = await this.queue.turn(signal);
    if (release === undefined || signal?.aborted) {
      release?.();
      if (signal?.aborted) this.skipped++;
      return undefined;
    }
    let events: BackplaneReplay["events"] | undefined;
    try {
      if (this.link.state !== "ready") return undefined;
      events = await readHistory({
        redis: this.link.command!,
        prefix: this.options.prefix,
        topics,
        epoch: id.epoch,
        after: id.seq,
        limit: historySize,
        timeoutMs,
        signal,
      });
    } finally {
      release();
    }
    if (events === undefined) return undefined;
    // A barrier: Redis answers this PING after the messages it queued on the subscriber before,
    // so the live copies of the events just read are delivered (and held) before the replay.
    const barrier = this.link.subscriber!.ping().then(() => true);
    if ((await within(barrier, timeoutMs, false)) === false) return undefined;
    return { after: id.seq, events };
  }
}
