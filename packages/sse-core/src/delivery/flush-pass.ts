import { bytesOf, EMPTY, type Frame, type FrameFormat } from "../wire/frame.js";

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

function sameFrames(a: readonly Frame[], b: readonly Frame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
