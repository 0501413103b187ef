import type { FlushPass } from "./flush.js";
import { bytesOf, EMPTY, type Frame, type FrameFormat } from "./frame.js";
import { RingBuffer } from "./ring-buffer.js";

/**
 * What happens to an event for a client whose buffer is full:
 * `"drop-newest"` loses the new event (the Go original's rule);
 * `"drop-oldest"` loses the oldest queued one and keeps the new;
 * `"disconnect"` ends the client (a browser reconnects, and with history on
 * resumes without loss).
 */
export type SlowClientPolicy = "drop-newest" | "drop-oldest" | "disconnect";

/** What a delivery did: dropped it, queued it, or queued it and dropped an older one. @internal */
export enum Delivery {
  Dropped = 0,
  Queued = 1,
  QueuedDroppingOldest = 2,
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
  private readonly pending: Frame[] = [];
  private pendingBytes = 0;
  private readonly ring: RingBuffer<Frame>;

  constructor(
    bufferSize: number,
    readonly policy: SlowClientPolicy,
  ) {
    this.ring = new RingBuffer(bufferSize);
  }

  /** Events queued now. */
  get length(): number {
    return this.pending.length + this.ring.length;
  }

  /** Queues `frame`: for this tick's write when `transport` can take it, else in the ring. */
  offer(frame: Frame, transport: Writable | null): Delivery {
    if (
      transport !== null &&
      !transport.blocked &&
      this.ring.length === 0 &&
      this.pendingBytes < transport.budget
    ) {
      this.pending.push(frame);
      this.pendingBytes += frame.chunk.byteLength;
      return Delivery.Queued;
    }
    if (this.ring.push(frame)) return Delivery.Queued;
    if (this.policy !== "drop-oldest") return Delivery.Dropped;
    this.ring.shift();
    this.ring.push(frame);
    return Delivery.QueuedDroppingOldest;
  }

  /**
   * Queues `frame` in the ring outside the slow-client policy: a resume-miss
   * signal, or replayed frames an iterator has not read yet (nothing live is
   * queued while a resume runs).
   */
  requeue(frame: Frame): void {
    this.ring.push(frame);
  }

  /** Removes and returns the oldest queued frame. */
  shift(): Frame | undefined {
    return this.pending.length > 0 ? this.takePending() : this.ring.shift();
  }

  /** Moves every frame of the ring (signals, while a resume runs) to `into`. */
  drainRing(into: Frame[]): void {
    while (this.ring.length > 0) into.push(this.ring.shift()!);
  }

  /**
   * Removes and returns everything queued as one chunk (empty when nothing
   * is), each frame in `format` (default: {@link Frame.chunk}).
   */
  take(format: FrameFormat | undefined, pass: FlushPass): Uint8Array {
    const pending = this.pending;
    const queued = this.ring.length;
    const count = pending.length + queued;
    if (count === 0) return EMPTY;
    if (count === 1)
      return bytesOf(pending.length === 1 ? this.takePending() : this.ring.shift()!, format);
    for (let i = 0; i < queued; i++) pending.push(this.ring.shift()!);
    const out = pass.join(pending, format);
    this.clearPending();
    return out;
  }

  /** Discards everything queued. */
  clear(): void {
    this.ring.clear();
    this.clearPending();
  }

  private takePending(): Frame {
    const frame = this.pending.shift()!;
    this.pendingBytes -= frame.chunk.byteLength;
    return frame;
  }

  private clearPending(): void {
    this.pending.length = 0;
    this.pendingBytes = 0;
  }
}
