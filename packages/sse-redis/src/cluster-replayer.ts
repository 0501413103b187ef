/**
 * Resumes on a Redis Cluster: a client's topics resume exactly when they
 * all belong to one order group (one topic, or topics sharing a hash tag),
 * read from that group's keys as on one Redis; topics of several groups
 * have no common order, so their resume is a miss (the broker repairs
 * what it can and tells the client). And a topic's latest event, and a
 * group's head. Internal.
 */
import {
  type BackplaneEvent,
  type BackplaneReplay,
  parseEventId,
  ReplayQueue,
} from "@burrow/sse-core/adapter";
import type { ClusterGroup, ClusterGroups } from "./cluster-groups.js";
import { groupOf } from "./cluster-keys.js";
import type { ClusterLink } from "./cluster-link.js";
import { readHistory, readLast } from "./history-reader.js";
import { within } from "./within.js";

/** The resumes of one cluster backplane. Internal. */
export class ClusterReplayer {
  /** Resumes whose client left before their turn, ever. */
  skipped = 0;
  /** Resumes refused because their topics span several order groups, ever. */
  crossGroup = 0;
  /** History reads run for resumes, ever (one per resume: a cluster's reads are not shared). */
  reads = 0;
  private readonly queue: ReplayQueue;

  constructor(
    private readonly link: ClusterLink,
    private readonly groups: ClusterGroups,
    private readonly options: { timeoutMs: number; maxReplays: number },
  ) {
    this.queue = new ReplayQueue(options.maxReplays);
  }

  /** Resumes reading or waiting their turn, now. */
  get size(): number {
    return this.queue.size;
  }

  /** Sends the resumes waiting their turn away, as misses. */
  flush(): void {
    this.queue.flush();
  }

  /** What `topics` retained after `lastEventId`, when they share one group; else a miss. */
  async replay(
    topics: readonly string[],
    lastEventId: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    const id = parseEventId(lastEventId);
    if (id === undefined || historySize === 0 || this.link.state !== "ready") return undefined;
    if (new Set(topics.map(groupOf)).size !== 1) {
      this.crossGroup++;
      return undefined;
    }
    const group = this.groups.of(topics[0]!);
    const { timeoutMs } = this.options;
    // Live deliveries must have started before the read: then the two overlap, never leave a hole.
    if ((await within(this.groups.answered(topics), timeoutMs, false)) === false) return undefined;
    if (!group.synced) return undefined;
    const release = await this.queue.turn(signal);
    if (release === undefined || signal?.aborted) {
      release?.();
      if (signal?.aborted) this.skipped++;
      return undefined;
    }
    let events: BackplaneReplay["events"] | undefined;
    try {
      if (this.link.state !== "ready") return undefined;
      this.reads++;
      events = await readHistory({
        redis: this.link.command!,
        prefix: group.prefix,
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
    if (events === undefined || !(await this.barrier(group))) return undefined;
    return { after: id.seq, events };
  }

  /** `topic`'s latest event, read once it is subscribed; undefined on any miss. Never rejects. */
  async last(
    topic: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneEvent | undefined> {
    if (historySize === 0 || this.link.state !== "ready") return undefined;
    const group = this.groups.of(topic);
    const read = async (): Promise<BackplaneEvent | undefined> => {
      await this.groups.answered([topic]);
      if (!group.synced || signal?.aborted || this.link.state !== "ready") return undefined;
      const event = await readLast(this.link.command!, group.prefix, topic);
      return event !== undefined && (await this.barrier(group)) ? event : undefined;
    };
    return within(read(), this.options.timeoutMs, undefined).catch(() => undefined);
  }

  /** `group`'s head (its epoch, set to `fresh` when it has none, and its last seq), within `timeoutMs`. */
  async head(group: ClusterGroup, fresh: string): Promise<{ epoch: string; seq: number }> {
    const answer = this.link.command!.sseLatest(`${group.prefix}meta`, fresh);
    const reply = await within(answer, this.options.timeoutMs, undefined);
    if (reply === undefined) {
      throw new Error(`Redis did not answer within ${this.options.timeoutMs} ms`);
    }
    return { epoch: reply[0], seq: Number(reply[1]) };
  }

  /**
   * Whether the live copies of what was just read were delivered (or held)
   * first: the group's master answers this PING on its subscriber connection
   * after the messages it queued there before.
   */
  private async barrier(group: ClusterGroup): Promise<boolean> {
    const redis = group.subscriber?.redis;
    if (redis === undefined) return false;
    const answered = redis.ping().then(
      () => true,
      () => false,
    );
    return await within(answered, this.options.timeoutMs, false);
  }
}
