/**
 * Resumes: reading what a client's topics retained after its
 * `Last-Event-ID`, once its live deliveries have started, through reads
 * shared with the other resumes of the same topics (the backplane kit's
 * `SharedReads`), at most `maxReplays` reads at a time (fewer while Redis
 * answers slowly), and ordered before the live copies of what was read (the
 * kit's `BackplaneResumes`); and, the same way, a topic's latest event, and
 * the head. The same on one Redis and on a cluster: a {@link ReplaySite}
 * says where a topic is read and subscribed. Internal.
 */
import { BackplaneResumes, type RangeReader, resumeReads } from "@burrow/sse-core/adapter";
import type { Redis } from "ioredis";
import { readLast, readRange, type StoredEvent } from "./history-reader.js";
import type { Link } from "./link.js";
import type { Subscriptions } from "./subscriptions.js";
import { within } from "./within.js";

/** Where the resumes of topics read, and what orders them: one Redis, or a cluster's order groups. Internal. */
export interface ReplaySite {
  /** The prefix of `topic`'s keys (its stream, its epoch and counter). */
  prefixOf(topic: string): string;
  /** Settles once the SUBSCRIBE of each of `topics` sent so far is answered. */
  answered(topics: readonly string[]): Promise<unknown>;
  /** Whether the subscriptions of `topics` are caught up on their current connection. */
  synced(topics: readonly string[]): boolean;
  /** The subscriber connection `topics` come on, while it is up: a PING there is their barrier. */
  subscriber(topics: readonly string[]): Redis | undefined;
  /** Replays of the same barrier group share a PING (see the kit's `ResumeEngine`). */
  barrierGroup?(topics: readonly string[]): string;
  /** Whether `topics` can resume at all (see the kit's `ResumeEngine`). */
  accepts?(topics: readonly string[]): boolean;
}

/** The site of one Redis: every key under the backplane's prefix, one subscriber connection. Internal. */
export function singleRedisSite(
  link: Link,
  subscriptions: Subscriptions,
  prefix: string,
): ReplaySite {
  return {
    prefixOf: () => prefix,
    answered: (topics) => subscriptions.answered(topics),
    synced: () => link.synced,
    subscriber: () => link.subscriber,
  };
}

/**
 * The resumes of one backplane (`replay`, `last` and their counters: see
 * the kit's `BackplaneResumes`), on Redis, and its head. Internal.
 */
export class Replayer extends BackplaneResumes<StoredEvent> {
  constructor(
    private readonly link: Link,
    site: ReplaySite,
    private readonly options: { timeoutMs: number; maxReplays: number },
  ) {
    const { timeoutMs, maxReplays } = options;
    const read: RangeReader<StoredEvent> = (topic, ...args) =>
      link.state === "ready"
        ? readRange(
            { redis: link.command!, prefix: site.prefixOf(topic), timeoutMs },
            topic,
            ...args,
          )
        : Promise.resolve(undefined);
    super({
      // Reads at once, adapted to how fast Redis answers, at most `maxReplays`.
      ...resumeReads(read, maxReplays),
      timeoutMs,
      ready: () => link.state === "ready",
      synced: (topics) => site.synced(topics),
      answered: (topics) =>
        within(
          site.answered(topics).then(() => true),
          timeoutMs,
          false,
        ),
      barrier: (topics) => barrier(site.subscriber(topics), timeoutMs),
      // Asked only while the link is ready (the kit checks it once the topic is answered).
      readLast: (topic) => readLast(link.command!, site.prefixOf(topic), topic),
      barrierGroup: site.barrierGroup?.bind(site),
      accepts: site.accepts?.bind(site),
    });
  }

  /**
   * The head of the keys under `prefix` (their epoch, set to `fresh` now
   * when there is none, and the last seq ordered), within `timeoutMs`.
   */
  async head(prefix: string, fresh: string): Promise<{ epoch: string; seq: number }> {
    const answer = this.link.command!.sseLatest(`${prefix}meta`, fresh);
    const reply = await within(answer, this.options.timeoutMs, undefined);
    if (reply === undefined)
      throw new Error(`Redis did not answer within ${this.options.timeoutMs} ms`);
    return { epoch: reply[0], seq: Number(reply[1]) };
  }
}

/**
 * Whether the live copies of what was just read were delivered (or held)
 * first: Redis answers this PING on the subscriber after the messages it
 * queued there before. False when it is down, or does not answer within
 * `timeoutMs`.
 */
async function barrier(subscriber: Redis | undefined, timeoutMs: number): Promise<boolean> {
  if (subscriber === undefined) return false;
  const answered = subscriber.ping().then(
    () => true,
    () => false,
  );
  return await within(answered, timeoutMs, false);
}
