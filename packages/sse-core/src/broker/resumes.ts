import type { Backplane, BackplaneReplay } from "../backplane/backplane.js";
import type { Client } from "../delivery/client.js";
import { type HistorySource, Resume } from "../delivery/resume.js";
import type { Subscription } from "../delivery/subscription.js";
import { type Frame, receivedFrame } from "../wire/frame.js";
import type { BrokerCounters } from "./broker-stats.js";
import type { History } from "./history.js";
import type { Observers } from "./observer.js";

/**
 * Where each client of one broker that subscribes with a `lastEventId`
 * starts: local history (resolved at once), or its backplane's replay
 * (awaited while live events are held, the overlap removed by seq). Counts
 * each resume and each miss, and tells the observers. @internal
 */
export class Resumes {
  /** Where a client resuming from local history reads it. */
  private readonly source: HistorySource = {
    after: (topics, cursor, limit) =>
      this.history?.after(topics, cursor, limit) ?? { frames: [], gap: false },
    missed: (client) => this.missed(client),
  };

  /**
   * @param history - local history (none with a backplane, or with `historySize` 0).
   * @param room - live events a client awaiting its replay may hold.
   * @param missFrame - what a client whose resume cannot be gap-free is sent first, if anything.
   */
  constructor(
    private readonly history: History | undefined,
    private readonly backplane: Backplane | undefined,
    private readonly room: number,
    private readonly missFrame: Frame | undefined,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
  ) {}

  /** Resumes `client` from local history after `lastEventId` (before it joins its topics), or tells it of a miss. */
  fromHistory(client: Subscription, lastEventId: string): void {
    const seq = this.history!.resolve(lastEventId, client.topics);
    if (seq !== undefined) {
      this.counters.resumed++;
      client.resumeWith(Resume.fromHistory(this.source, client, seq));
      this.observers.notify("resumed", client, false);
    } else {
      const miss = this.missed(client);
      if (miss !== undefined) client.prepend(miss);
    }
  }

  /**
   * Resumes `client` from the backplane's history (once it watches its
   * topics, so that the replay overlaps live deliveries instead of leaving
   * a hole): live events are held meanwhile, and the overlap is removed by seq.
   */
  fromBackplane(client: Subscription, lastEventId: string): void {
    const backplane = this.backplane!;
    client.resumeWith(Resume.awaiting(this.room));
    const settle = (replay: BackplaneReplay | undefined): void => {
      if (client.closed) return;
      if (replay === undefined) {
        const miss = this.missed(client);
        if (miss !== undefined) client.prepend(miss);
        client.replayed([], 0);
        return;
      }
      this.counters.resumed++;
      this.observers.notify("resumed", client, false);
      const frames: Frame[] = [];
      for (const { topic, event, seq } of replay.events) {
        try {
          frames.push(receivedFrame(topic, event, seq));
        } catch {
          // Not encodable (not written by a broker): skipped, as live delivery would.
        }
      }
      client.replayed(frames, replay.after);
    };
    // Aborted when the client leaves: the backplane then reads nothing for it.
    const left = new AbortController();
    void client.done.then(() => left.abort());
    backplane.replay(client.topics, lastEventId, left.signal).then(settle, () => settle(undefined));
  }

  /** A resume that cannot be gap-free: counted, observed; returns the frame that tells the client, if any. */
  missed(client: Client): Frame | undefined {
    this.counters.resumeMisses++;
    this.observers.notify("resumed", client, true);
    return this.missFrame;
  }
}
