/**
 * A backplane's resumes, the same on every engine: a replay reads once the
 * live deliveries of its topics have started, through the reads it shares
 * with the other resumes ({@link SharedReads}), and ends after a barrier
 * (shared too: {@link SharedBarrier}); a topic's latest event is read the
 * same way, bounded in all.
 */
import { unlessAborted } from "../base/unless-aborted.js";
import { within } from "../base/within.js";
import type { AdaptiveLimit } from "./adaptive-limit.js";
import type { BackplaneEvent, BackplaneReplay } from "./backplane.js";
import type { BackplaneEngineStats, ResumeCounters } from "./engine-stats.js";
import { parseEventId } from "./event-id.js";
import { SharedBarrier } from "./shared-barrier.js";
import type { SharedReads } from "./shared-reads.js";
import { sharedReplay } from "./shared-replay.js";

/** What {@link BackplaneResumes} asks of its engine. */
export interface ResumeEngine<E extends BackplaneEvent> {
  /** The engine's history reads, shared by its resumes (with `limit`: see `resumeReads`). */
  readonly reads: SharedReads<E>;
  /** The reads allowed at once that `reads` take turns under (an {@link AdaptiveLimit}): `replayLimit`. */
  readonly limit: { readonly current: number };
  /** How long {@link BackplaneResumes.last} waits in all, in milliseconds: undefined past it. */
  readonly timeoutMs: number;
  /**
   * Whether the link is ready: a resume (or a latest read) starts only
   * then, and reads only if it still is once its topics are answered.
   */
  ready(): boolean;
  /** Whether the subscriptions of `topics` are caught up on the current connection: a read starts only then. */
  synced(topics: readonly string[]): boolean;
  /**
   * Resolves true once the SUBSCRIBE (LISTEN) of each of `topics` sent so
   * far is answered: their live deliveries have started. False (or a
   * rejection) makes the resume a miss: a bound of the engine's own.
   */
  answered(topics: readonly string[]): Promise<boolean>;
  /**
   * Sends one barrier for `topics` (a PING on the subscriber, a NOTIFY to
   * itself): resolves true once answered, after the live copies of what was
   * ordered before it was sent; false (or a rejection) when not.
   */
  barrier(topics: readonly string[]): Promise<boolean>;
  /** `topic`'s newest event (asked only while {@link ResumeEngine.ready}); undefined when it holds none. */
  readLast(topic: string): Promise<BackplaneEvent | undefined>;
  /**
   * Replays whose topics are in the same barrier group share one barrier
   * (a Redis Cluster: the order group, whose master answers its barrier).
   * @default one group for all
   */
  barrierGroup?(topics: readonly string[]): string;
  /**
   * Whether `topics` can resume at all (a Redis Cluster: only topics of one
   * order group); false makes the resume a miss, before it waits for anything.
   * @default every set of topics
   */
  accepts?(topics: readonly string[]): boolean;
}

/**
 * The resumes of one backplane: {@link BackplaneResumes.replay} waits until
 * the SUBSCRIBE (LISTEN) of its topics is answered, so that live deliveries
 * started before the read (the two overlap, never leave a hole), reads
 * through the engine's {@link SharedReads} ({@link sharedReplay}), and
 * resolves once a barrier sent after the read is answered (shared by the
 * replays whose reads ended in the same turn), so that the live copies of
 * what it read are delivered (or held) first. {@link BackplaneResumes.last}
 * does the same for a topic's newest event. Both settle at once when their
 * caller's signal aborts, whichever step they wait at.
 *
 * @example
 * ```ts
 * const resumes = new BackplaneResumes({
 *   ...resumeReads(readRange, maxReplays), // reads, limit
 *   timeoutMs: 2_000,
 *   ready: () => link.state === "ready",
 *   synced: () => link.synced,
 *   answered: (topics) => subscriptions.answered(topics).then(() => true),
 *   barrier: () => ping().then(() => true),
 *   readLast: (topic) => readLast(topic),
 * });
 * // in the backplane's replay(topics, lastEventId, signal):
 * return resumes.replay(topics, lastEventId, host.historySize, signal);
 * ```
 */
export class BackplaneResumes<E extends BackplaneEvent> {
  private readonly barriers = new Map<string, SharedBarrier>();
  private resuming = 0;
  private left = 0;

  /** @param engine - the engine's pieces (see {@link ResumeEngine}). */
  constructor(private readonly engine: ResumeEngine<E>) {}

  /** Resumes waiting for their live deliveries, their reads or their barrier, now. */
  get size(): number {
    return this.resuming;
  }

  /** Resumes whose client left before their read started: nothing was read for them, ever. */
  get skipped(): number {
    return this.left + this.engine.reads.skipped;
  }

  /** History reads run for resumes, ever (each shared by the resumes of its topic waiting). */
  get reads(): number {
    return this.engine.reads.reads;
  }

  /** The resume counters of the engine's stats (see {@link BackplaneEngineStats}). */
  counters(): ResumeCounters {
    return {
      replays: this.size,
      replaysSkipped: this.skipped,
      replayReads: this.reads,
      replayLimit: this.engine.limit.current,
    };
  }

  /** Turns the resumes waiting for a read into misses (the link is down, or closed). */
  flush(): void {
    this.engine.reads.flush();
  }

  /**
   * What `topics` retained after `lastEventId`, at most `historySize` per
   * topic (see `Backplane.replay`); undefined on a miss: an id not ours,
   * history off, the link not ready (or not synced once the topics were
   * answered), `signal` aborted (settled at once, at whichever step it waits),
   * a read or barrier not answered. Never rejects.
   */
  async replay(
    topics: readonly string[],
    lastEventId: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    const { engine } = this;
    const id = parseEventId(lastEventId);
    if (id === undefined || historySize === 0 || !engine.ready()) return undefined;
    if (engine.accepts?.(topics) === false) return undefined;
    this.resuming++;
    try {
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      // A client that leaves meanwhile settles at once, not once the engine answers (or times out).
      const answered = await unlessAborted(engine.answered(topics), signal, false);
      if (!answered || !engine.synced(topics) || !engine.ready() || signal?.aborted) {
        if (signal?.aborted) this.left++;
        return undefined;
      }
      const events = await sharedReplay(
        engine.reads,
        topics,
        id.epoch,
        id.seq,
        historySize,
        signal,
      );
      // The live copies of the events just read are delivered (or held) before the replay.
      if (events === undefined || !(await this.barrier(topics, signal))) return undefined;
      return { after: id.seq, events };
    } catch {
      return undefined;
    } finally {
      this.resuming--;
    }
  }

  /**
   * `topic`'s newest event (see `Backplane.last`), read once its SUBSCRIBE
   * (LISTEN) is answered, and resolved after the live copies of what was
   * read (a barrier shared as a replay's is); undefined without history,
   * while the link is not ready (or not ready or synced once answered: a
   * link that went down meanwhile is not read), past `timeoutMs` (in all),
   * on an error, or once `signal` aborts (the caller stopped waiting:
   * settled at once, at whichever step it waits, and nothing read after).
   * Never rejects.
   */
  async last(
    topic: string,
    historySize: number,
    signal?: AbortSignal,
  ): Promise<BackplaneEvent | undefined> {
    const { engine } = this;
    if (historySize === 0 || !engine.ready() || signal?.aborted) return undefined;
    const topics = [topic];
    const read = async (): Promise<BackplaneEvent | undefined> => {
      // Live deliveries must have started before the read: then the two overlap, never leave a hole.
      // A caller that stops waiting meanwhile settles at once, not once the engine answers (or times out).
      if (!(await unlessAborted(engine.answered(topics), signal, false))) return undefined;
      if (!engine.synced(topics) || !engine.ready() || signal?.aborted) return undefined;
      const event = await engine.readLast(topic);
      return event !== undefined && (await this.barrier(topics, signal)) ? event : undefined;
    };
    return within(read(), engine.timeoutMs, undefined).catch(() => undefined);
  }

  /**
   * The answer of a barrier sent after this call, shared with the replays
   * (and latest reads) of its group waiting; false at once when `signal`
   * aborts (the client left).
   */
  private barrier(topics: readonly string[], signal?: AbortSignal): Promise<boolean> {
    const group = this.engine.barrierGroup?.(topics) ?? "";
    let shared = this.barriers.get(group);
    if (shared === undefined) {
      const made = new SharedBarrier(() => {
        // Sent: a later wait needs a barrier sent after it, so a new one.
        if (this.barriers.get(group) === made) this.barriers.delete(group);
        return this.engine.barrier(topics);
      });
      shared = made;
      this.barriers.set(group, shared);
    }
    return shared.wait(signal);
  }
}
