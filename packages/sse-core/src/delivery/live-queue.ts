import { RingBuffer } from "../base/ring-buffer.js";
import type { SlowClientPolicy } from "../base/slow-client-policy.js";
import { bytesOf, EMPTY, type Frame, type FrameFormat } from "../wire/frame.js";
import type { FlushPass } from "./flush-pass.js";

/** What an offered frame became: dropped, queued, or queued with an older one dropped. @internal */
export enum Delivery {
  Dropped = 0,
  Queued = 1,
  QueuedDroppingOldest = 2,
  /** A state topic's event that took the place of the older one queued (nothing lost). */
  Conflated = 3,
  /** Not queued: the topic is being repaired, and its snapshot (or latest event) covers it. */
  Deferred = 4,
}

/** What a live queue needs to know of the transport draining it. @internal */
export interface Writable {
  /** True while the transport asked us to wait (write() returned false). */
  readonly blocked: boolean;
  /** Bytes a client may collect in one tick before further events go to its ring buffer. */
  readonly budget: number;
}

/**
 * One client's live events, with the slow-client policy. Two queues:
 * `pending`, events a writable transport takes at the end of this tick
 * (bounded in bytes by its budget, joined into one write), and a ring of at
 * most `bufferSize` events the transport cannot take yet. Past both,
 * `policy` decides what is lost. @internal
 */
export class LiveQueue {
  /** Both made on first use: an idle connection's queue holds no list. */
  private pending: Frame[] | undefined;
  private pendingBytes = 0;
  private waiting: RingBuffer<Frame> | undefined;
  /** The frame the last {@link Delivery.QueuedDroppingOldest} dropped. */
  evicted: Frame | undefined;

  constructor(
    readonly bufferSize: number,
    readonly policy: SlowClientPolicy,
  ) {}

  /** Events queued now. */
  get length(): number {
    return (this.pending?.length ?? 0) + (this.waiting?.length ?? 0);
  }

  /**
   * Queues `frame`: for this tick's write when `transport` can take it, else
   * in the ring. A state topic's frame replaces an older one of its topic
   * still queued, if any ({@link Delivery.Conflated}).
   */
  offer(frame: Frame, transport: Writable | null): Delivery {
    const queued =
      frame.rule?.kind === "state" && this.length > 0 && this.conflate(frame)
        ? Delivery.Conflated
        : Delivery.Queued;
    if (
      transport !== null &&
      !transport.blocked &&
      (this.waiting === undefined || this.waiting.length === 0) &&
      this.pendingBytes < transport.budget
    ) {
      if (this.pending === undefined) this.pending = [frame];
      else this.pending.push(frame);
      this.pendingBytes += frame.chunk.byteLength;
      return queued;
    }
    const ring = this.ring();
    if (ring.push(frame)) return queued;
    if (this.policy !== "drop-oldest") return Delivery.Dropped;
    this.evicted = ring.shift();
    ring.push(frame);
    return Delivery.QueuedDroppingOldest;
  }

  /** True when a frame of `topic` is queued. */
  private holds(topic: string): boolean {
    if (this.pending?.some((frame) => frame.topic === topic)) return true;
    const ring = this.waiting;
    if (ring === undefined) return false;
    for (let i = 0; i < ring.length; i++) if (ring.at(i)!.topic === topic) return true;
    return false;
  }

  /** Removes every queued frame of `topic` (a snapshot will take their place). */
  removeTopic(topic: string): void {
    const pending = this.pending;
    if (pending !== undefined && pending.length > 0) {
      const kept = pending.filter((frame) => frame.topic !== topic);
      for (const frame of pending)
        if (frame.topic === topic) this.pendingBytes -= frame.chunk.byteLength;
      this.pending = kept;
    }
    const ring = this.waiting;
    if (ring === undefined || ring.length === 0) return;
    const count = ring.length;
    for (let i = 0; i < count; i++) {
      const frame = ring.shift()!;
      if (frame.topic !== topic) ring.push(frame);
    }
  }

  /**
   * Removes the queued frame of `frame`'s topic, if any (true then): the
   * new one is queued at the end, so the ids a client sees never go back.
   * A state topic has at most one frame queued (each one conflates the one
   * before), so the search goes from the newest and stops at the first: in
   * a burst, a few steps back, not the whole queue (the ring's frames are
   * newer than this tick's pending ones).
   */
  private conflate(frame: Frame): boolean {
    const topic = frame.topic;
    const ring = this.waiting;
    if (ring !== undefined) {
      for (let i = ring.length - 1; i >= 0; i--) {
        if (ring.at(i)!.topic === topic) return ring.removeAt(i) !== undefined;
      }
    }
    const pending = this.pending;
    if (pending === undefined) return false;
    for (let i = pending.length - 1; i >= 0; i--) {
      const old = pending[i]!;
      if (old.topic !== topic) continue;
      this.pendingBytes -= old.chunk.byteLength;
      pending.copyWithin(i, i + 1);
      pending.pop();
      return true;
    }
    return false;
  }

  /**
   * Queues `frame` ahead of everything queued, outside the slow-client
   * policy (a repair). A state topic's frame is not queued when an event of
   * its topic is (published after the repair's render began: newer).
   */
  unshift(frame: Frame): boolean {
    if (frame.rule?.kind === "state" && this.holds(frame.topic)) return false;
    if (this.pending === undefined) this.pending = [];
    this.pending.unshift(frame);
    this.pendingBytes += frame.chunk.byteLength;
    return true;
  }

  /**
   * Queues `frame` in the ring outside the slow-client policy: a resume-miss
   * event, or replayed frames an iterator has not read yet (nothing live is
   * queued while a resume runs).
   */
  requeue(frame: Frame): void {
    this.ring().push(frame);
  }

  /** Removes and returns the oldest queued frame. */
  shift(): Frame | undefined {
    if (this.pending !== undefined && this.pending.length > 0) return this.takePending();
    return this.waiting?.shift();
  }

  /** Moves every frame of the ring (while a resume runs: what was requeued) to `into`. */
  drainRing(into: Frame[]): void {
    const ring = this.waiting;
    if (ring === undefined) return;
    while (ring.length > 0) into.push(ring.shift()!);
  }

  /**
   * Removes and returns everything queued as one chunk (empty when nothing
   * is), each frame in `format` (default: {@link Frame.chunk}); `mark`, when
   * given, may replace frames of the array it is handed (a client with a
   * repair outstanding stamps repair ids) before they are joined.
   */
  take(
    format: FrameFormat | undefined,
    pass: FlushPass,
    mark?: (frames: Frame[]) => Frame[],
  ): Uint8Array {
    const ring = this.waiting;
    const queued = ring === undefined ? 0 : ring.length;
    const pendingCount = this.pending === undefined ? 0 : this.pending.length;
    const count = pendingCount + queued;
    if (count === 0) return EMPTY;
    if (count === 1) {
      const frame = pendingCount === 1 ? this.takePending() : ring!.shift()!;
      return bytesOf(mark === undefined ? frame : mark([frame])[0]!, format);
    }
    const pending = this.pending ?? [];
    this.pending = pending;
    for (let i = 0; i < queued; i++) pending.push(ring!.shift()!);
    const out = pass.join(mark === undefined ? pending : mark(pending), format);
    this.clearPending();
    return out;
  }

  /** Discards everything queued. */
  clear(): void {
    this.waiting?.clear();
    this.clearPending();
  }

  /** The ring of events waiting for the transport, made on first use. */
  private ring(): RingBuffer<Frame> {
    if (this.waiting === undefined) this.waiting = new RingBuffer(this.bufferSize);
    return this.waiting;
  }

  private takePending(): Frame {
    const frame = this.pending!.shift()!;
    this.pendingBytes -= frame.chunk.byteLength;
    return frame;
  }

  private clearPending(): void {
    if (this.pending !== undefined) this.pending.length = 0;
    this.pendingBytes = 0;
  }
}
