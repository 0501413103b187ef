import { RingBuffer } from "../base/ring-buffer.js";
import type { Frame } from "../wire/frame.js";
import type { RepairIds } from "./snapshots.js";

/** A retained event: its frame, its topic and its place in the broker's publish order. */
export interface HistoryFrame extends Frame {
  readonly seq: number;
}

interface TopicLog {
  readonly frames: RingBuffer<HistoryFrame>;
  /** Highest seq evicted from this topic (0: none). */
  evictedUpTo: number;
  /**
   * The retained events' explicit ids: the latest seq of each, and how many
   * retained events carry it (more than one: the id is ambiguous).
   */
  readonly ids: Map<string, { seq: number; count: number }>;
}

/** What a resume after some seq finds. */
export interface ReplayBatch {
  frames: HistoryFrame[];
  /** True when an event after the cursor was already evicted: a gap. */
  gap: boolean;
  /** The topics with a gap, when there is one. */
  gapped?: string[];
}

/**
 * The last `size` events of each topic, for clients that resume with
 * `Last-Event-ID`. Every publish gets a strictly increasing seq; events
 * published without an id get `<epoch>-<seq>`, where the epoch tells this
 * broker's ids from another process's or an earlier run's.
 *
 * Resolving an id: a broker-assigned id names its seq exactly (whatever topic
 * it came from), so any of them, and {@link History.cursor}, is a resume point
 * for any topics. An explicit id is looked up among the retained events of
 * the client's own topics only, and resumes only when exactly one of them
 * carries it: an id that is unknown, evicted, or reused (across those topics
 * or within one) cannot be resolved without guessing, so it is a miss.
 * Internal.
 */
export class History implements RepairIds {
  private readonly logs = new Map<string, TopicLog>();
  private seq = 0;
  private readonly ownId: RegExp;

  /** @param epoch - what tells its ids from other runs' and other brokers' (default: the time, in base 36). */
  constructor(
    private readonly size: number,
    private readonly epoch = Date.now().toString(36),
  ) {
    this.ownId = new RegExp(`^${this.epoch}-(0|[1-9][0-9]{0,15})(${REPAIR_MARK})?$`);
  }

  /**
   * True when `id` has the shape of an id this broker assigns but another
   * epoch: an earlier run's (a restart), or another broker's.
   */
  otherEpoch(id: string): boolean {
    const match = ASSIGNED_ID.exec(id);
    return match !== null && match[1] !== this.epoch;
  }

  /** True when an event of `topic` published after `seq` was already evicted. */
  gapAfter(topic: string, seq: number): boolean {
    const log = this.logs.get(topic);
    return log !== undefined && log.evictedUpTo > seq;
  }

  /** The seq of the latest publish (0 before any). */
  get latest(): number {
    return this.seq;
  }

  /** The seq of the latest publish (0 before any): see {@link RepairIds}. */
  position(): number {
    return this.seq;
  }

  /** Reserves the next seq. */
  next(): number {
    return ++this.seq;
  }

  /** The id the broker assigns to the event with `seq`. */
  idFor(seq: number): string {
    return `${this.epoch}-${seq}`;
  }

  /**
   * The id of position `seq` for a client with a repair outstanding: a
   * resume from it replays the client's other topics after `seq` and
   * repairs again every topic that can be repaired (the client's copy of
   * them may be ahead of `seq`, or behind it; a repair is right either way).
   */
  repairIdFor(seq: number): string {
    return `${this.epoch}-${seq}${REPAIR_MARK}`;
  }

  /** True when `id` is one of {@link History.repairIdFor}'s (of any epoch). */
  static marksRepair(id: string): boolean {
    return id.endsWith(REPAIR_MARK) && ASSIGNED_ID.test(id);
  }

  /** An id naming the latest publish: resuming after it replays every later event. */
  cursor(): string {
    return this.idFor(this.seq);
  }

  /**
   * Retains `frame` in `topic`'s log, evicting the topic's oldest event when
   * full. A state topic keeps its latest event only, and an evicted one is
   * no gap (the latest is all a resume needs of it).
   */
  record(topic: string, frame: HistoryFrame): void {
    const state = frame.rule?.kind === "state";
    let log = this.logs.get(topic);
    if (log === undefined) {
      log = { frames: new RingBuffer(state ? 1 : this.size), evictedUpTo: 0, ids: new Map() };
      this.logs.set(topic, log);
    }
    if (!log.frames.push(frame)) {
      const old = log.frames.shift()!;
      if (!state) log.evictedUpTo = old.seq;
      const id = old.event.id;
      const entry = id === undefined ? undefined : log.ids.get(id);
      if (entry !== undefined && --entry.count === 0) log.ids.delete(id!);
      log.frames.push(frame);
    }
    const id = frame.event.id;
    if (id !== undefined && !this.ownId.test(id)) {
      const entry = log.ids.get(id);
      if (entry === undefined) log.ids.set(id, { seq: frame.seq, count: 1 });
      else {
        entry.seq = frame.seq;
        entry.count++;
      }
    }
  }

  /**
   * The seq `lastEventId` names (an id this broker assigned, or an explicit
   * id carried by exactly one retained event of `topics`), gaps aside.
   */
  seqOf(lastEventId: string, topics: readonly string[]): number | undefined {
    const own = this.ownId.exec(lastEventId);
    if (own !== null) {
      const seq = Number(own[1]);
      return seq <= this.seq ? seq : undefined;
    }
    let found: number | undefined;
    for (const topic of topics) {
      const entry = this.logs.get(topic)?.ids.get(lastEventId);
      if (entry === undefined) continue;
      if (found !== undefined || entry.count > 1) return undefined;
      found = entry.seq;
    }
    return found;
  }

  /**
   * Up to `limit` retained events of `topics` published after `cursor`, in
   * publish order (a k-way merge of the topics' logs; no duplicates, since
   * each event belongs to one topic).
   */
  after(topics: readonly string[], cursor: number, limit: number): ReplayBatch {
    const logs: RingBuffer<HistoryFrame>[] = [];
    const positions: number[] = [];
    let gapped: string[] | undefined;
    for (const topic of topics) {
      const log = this.logs.get(topic);
      if (log === undefined) continue;
      if (log.evictedUpTo > cursor) {
        gapped ??= [];
        gapped.push(topic);
      }
      logs.push(log.frames);
      positions.push(firstAfter(log.frames, cursor));
    }
    const frames: HistoryFrame[] = [];
    while (frames.length < limit) {
      let best = -1;
      let bestSeq = Number.POSITIVE_INFINITY;
      for (let i = 0; i < logs.length; i++) {
        const frame = logs[i]!.at(positions[i]!);
        if (frame !== undefined && frame.seq < bestSeq) {
          best = i;
          bestSeq = frame.seq;
        }
      }
      if (best === -1) break;
      frames.push(logs[best]!.at(positions[best]!)!);
      positions[best]!++;
    }
    return gapped === undefined ? { frames, gap: false } : { frames, gap: true, gapped };
  }
}

/** What ends the id of a client with a repair outstanding ({@link History.repairIdFor}). */
const REPAIR_MARK = "r";

/**
 * The shape of a broker-assigned id: `<epoch>-<seq>`, the epoch a time in
 * base 36, maybe marked as a repair's (`<epoch>-<seq>r`).
 */
const ASSIGNED_ID = /^([0-9a-z]{6,12})-(0|[1-9][0-9]{0,15})r?$/;

/** Index of the first frame with seq > cursor (binary search: a log is in seq order). */
function firstAfter(frames: RingBuffer<HistoryFrame>, cursor: number): number {
  let lo = 0;
  let hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (frames.at(mid)!.seq <= cursor) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
