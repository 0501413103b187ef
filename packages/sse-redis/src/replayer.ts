/**
 * Resumes: reading what a client's topics retained after its
 * `Last-Event-ID`, once its live deliveries have started, at most
 * `maxReplays` at a time, and ordered before the live copies of what was
 * read; and, the same way, a topic's latest event. Internal.
 */
import {
  type BackplaneEvent,
  type BackplaneReplay,
  parseEventId,
  ReplayQueue,
} from "@burrow/sse-core/adapter";
import { readHistory, readLast } from "./history-reader.js";
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
    if (events === undefined || !(await this.barrier())) return undefined;
    return { after: id.seq, events };
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
