/**
 * Resumes: reading, in one snapshot, what a client's topics retained after
 * its `Last-Event-ID`, once their LISTENs are answered, at most
 * `maxReplays` at a time (the backplane kit's `ReplayQueue`), and ordered
 * after the live copies of what was read; and, the same way, a topic's
 * latest event. Internal.
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
import { within } from "./transaction.js";

/** The resumes of one backplane. Internal. */
export class Replayer {
  /** Resumes whose client left before their turn: nothing was read for them, ever. */
  skipped = 0;
  private readonly queue: ReplayQueue;

  constructor(
    private readonly link: Link,
    private readonly subscriptions: Subscriptions,
    maxReplays: number,
  ) {
    this.queue = new ReplayQueue(maxReplays);
  }

  /** Resumes reading or waiting their turn, now. */
  get size(): number {
    return this.queue.size;
  }

  /** Sends the resumes waiting their turn away, as misses (the link is down, or closed). */
  flush(): void {
    this.queue.flush();
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
    if (id === undefined || this.link.state !== "ready") return undefined;
    const release = await this.queue.turn(signal);
    if (release === undefined) {
      if (signal?.aborted) this.skipped++;
      return undefined;
    }
    try {
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      await this.subscriptions.answered(topics);
      if (!this.link.synced || signal?.aborted) return undefined;
      const events = await readHistory(this.link.history(), topics, id.epoch, id.seq, historySize);
      if (events === undefined) return undefined;
      // The live copies of the events just read are delivered (or held) before the replay.
      await this.link.listener!.barrier();
      return { after: id.seq, events };
    } catch {
      return undefined;
    } finally {
      release();
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
