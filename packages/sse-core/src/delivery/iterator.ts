import type { SSEEvent } from "../wire/encode.js";
import type { Frame } from "../wire/frame.js";

/** What an {@link EventIterator} reads: a subscription, one frame at a time. @internal */
export interface FrameReader {
  readonly closed: boolean;
  /** The next queued frame, or undefined when none is queued now. */
  read(): Frame | undefined;
  /** Resolves when something may have been queued, or the reader closed. */
  readable(): Promise<void>;
  /** Ends the subscription (the loop reading it stopped early). */
  leave(): void;
}

/**
 * `for await (const event of client)`: yields each queued event, waits when
 * none is, ends once the client is closed and drained; leaving the loop early
 * unsubscribes. @internal
 */
export class EventIterator implements AsyncIterator<SSEEvent> {
  constructor(private readonly reader: FrameReader) {}

  async next(): Promise<IteratorResult<SSEEvent>> {
    for (;;) {
      const frame = this.reader.read();
      if (frame !== undefined) return { value: frame.event, done: false };
      if (this.reader.closed) return { value: undefined, done: true };
      await this.reader.readable();
    }
  }

  async return(): Promise<IteratorResult<SSEEvent>> {
    this.reader.leave();
    return { value: undefined, done: true };
  }
}
