import { FlushPass } from "./flush-pass.js";

/**
 * Something a {@link FlushScheduler} flushes: a stream draining one
 * subscription into its transport. @internal
 */
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
