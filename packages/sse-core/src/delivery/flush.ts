import { bytesOf, EMPTY, type Frame, type FrameFormat } from "../wire/frame.js";

/** Something a {@link FlushScheduler} flushes: a subscription with a transport attached. @internal */
export interface Flushable {
  /**
   * The scheduler's mark (the pass it is queued for); read and written by
   * {@link FlushScheduler} only.
   */
  flushMark: number;
  /** Writes what it holds now to its transport; `pass` shares this flush's work between streams. */
  flush(pass: FlushPass): void;
}

/**
 * The state of one flush, handed to every stream it writes: the last join of
 * frames and the last transport encoding of a chunk, each reused by the next
 * stream with the same input. Clients of one topic flushed together hold the
 * same frames, so a burst is joined once per flush, not once per client, and
 * an HTTP/1.1 chunk is framed once. Dropped when the flush ends: nothing
 * carries over between flushes. @internal
 */
export class FlushPass {
  private joinedFrames: readonly Frame[] = [];
  private joinedFormat: FrameFormat | undefined;
  private joined: Uint8Array = EMPTY;
  private encodedFrom: Uint8Array | undefined;
  private encodedBy: ((chunk: Uint8Array) => Uint8Array) | undefined;
  private encoded: Uint8Array = EMPTY;

  /** The frames' bytes, each in `format`, as one chunk (one write). */
  join(frames: readonly Frame[], format: FrameFormat | undefined): Uint8Array {
    if (frames.length === 1) return bytesOf(frames[0]!, format);
    if (format === this.joinedFormat && sameFrames(frames, this.joinedFrames)) return this.joined;
    // Two passes over the frames instead of an array of their bytes: a frame's
    // bytes in a format are made once and cached on the frame, so the second
    // call is a lookup.
    let total = 0;
    for (const frame of frames) total += bytesOf(frame, format).byteLength;
    const out = new Uint8Array(total);
    let offset = 0;
    for (const frame of frames) {
      const bytes = bytesOf(frame, format);
      out.set(bytes, offset);
      offset += bytes.byteLength;
    }
    this.joinedFrames = frames.slice();
    this.joinedFormat = format;
    this.joined = out;
    return out;
  }

  /** `encode(chunk)`, made once for a run of streams writing the same chunk the same way. */
  encode(chunk: Uint8Array, encode: (chunk: Uint8Array) => Uint8Array): Uint8Array {
    if (chunk !== this.encodedFrom || encode !== this.encodedBy) {
      this.encoded = encode(chunk);
      this.encodedFrom = chunk;
      this.encodedBy = encode;
    }
    return this.encoded;
  }
}

/**
 * Who needs a flush, and each flushed once per tick: a stream that got
 * something asks {@link FlushScheduler.schedule}; at the end of the tick (a
 * microtask) every stream asked is flushed once, in the order asked, with one
 * shared {@link FlushPass}. So events published in one tick leave in one
 * write per client. One per broker (and one per request-stream handler).
 * @internal
 */
export class FlushScheduler {
  private due: Flushable[] = [];
  /** The previous pass's list, emptied: reused so that a flush allocates no list. */
  private spare: Flushable[] = [];
  /** The pass being queued; a stream whose mark equals it is already due. */
  private pass = 1;
  private queued = false;
  private readonly run = (): void => {
    const due = this.due;
    this.due = this.spare;
    this.pass++;
    this.queued = false;
    const pass = new FlushPass();
    try {
      // A stream asking again while this runs (its transport ended it) is due in the next pass.
      for (const stream of due) stream.flush(pass);
    } finally {
      due.length = 0;
      this.spare = due;
    }
  };

  /** Flushes `stream` at the end of this tick (once, however often it is asked). */
  schedule(stream: Flushable): void {
    if (stream.flushMark === this.pass) return;
    stream.flushMark = this.pass;
    this.due.push(stream);
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(this.run);
    }
  }
}

function sameFrames(a: readonly Frame[], b: readonly Frame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
