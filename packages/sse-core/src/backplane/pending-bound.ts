/**
 * How many events a backplane lets wait for its engine: `maxPending` while
 * the engine is not answering, more while it answers, so that a burst on a
 * healthy engine waits its turn instead of being delivered on one process
 * only.
 */

/**
 * While the engine answers, a burst may wait up to this many times
 * `maxPending` (the memory bound of a slow engine; a hung one is held to
 * `maxPending`).
 */
export const BURST_FACTOR = 10;

/**
 * The check interval of a {@link PendingBound} for a backplane whose
 * requests time out after `timeoutMs`: a quarter of it, 50 ms to 1 s (so an
 * engine silent for 2 s at most is taken for hung, well before most
 * `timeoutMs`).
 *
 * @example
 * ```ts
 * stallCheckMs(2000); // 500
 * ```
 */
export function stallCheckMs(timeoutMs: number): number {
  return Math.min(1000, Math.max(50, Math.floor(timeoutMs / 4)));
}

/**
 * The bound on the events a backplane keeps waiting for its engine, and the
 * tell of a hung engine: events are waiting and no answer came for two
 * checks in a row, `checkMs` apart (so between `checkMs` and `2 * checkMs`;
 * two checks, so that an event loop blocked by a synchronous burst, whose
 * answers are read after the timer fires, is not taken for a hang).
 *
 * - Below `maxPending` waiting, an event always waits.
 * - From `maxPending` on, it waits while the engine answers (it is not
 *   stalled), up to `BURST_FACTOR * maxPending`.
 * - Otherwise it overflows: the backplane delivers it on this process only,
 *   and records its topic so that every process learns of the gap.
 *
 * The timer runs only while events wait, and never keeps the process alive.
 *
 * @example
 * ```ts
 * const bound = new PendingBound(10_000, 500, () => queue.length + inFlight);
 * if (!bound.admits()) return overflow(topic, event);
 * queue.push(event); bound.waiting();
 * // each answer of the engine (success or error):
 * bound.answered();
 * ```
 */
export class PendingBound {
  private timer: NodeJS.Timeout | undefined;
  private answers = 0;
  private silentChecks = 0;

  /**
   * @param maxPending - the most events waiting for an engine that does not answer.
   * @param checkMs - how often a wait is checked for answers.
   * @param pending - the events waiting now (queued or sent, not answered).
   */
  constructor(
    readonly maxPending: number,
    private readonly checkMs: number,
    private readonly pending: () => number,
  ) {}

  /** Whether the engine has left waiting events unanswered for two checks in a row. */
  get stalled(): boolean {
    return this.silentChecks >= 2;
  }

  /** Whether one more event may wait now (else it overflows). */
  admits(): boolean {
    const pending = this.pending();
    if (pending < this.maxPending) return true;
    return !this.stalled && pending < this.maxPending * BURST_FACTOR;
  }

  /** Events are waiting: checks for answers until none waits. */
  waiting(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), this.checkMs);
    this.timer.unref();
  }

  /** The engine answered (a statement or a command came back). */
  answered(): void {
    this.answers++;
    this.silentChecks = 0;
  }

  /** Stops checking (the backplane closed). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    if (this.pending() === 0) {
      this.silentChecks = 0;
      this.stop();
      return;
    }
    this.silentChecks = this.answers === 0 ? this.silentChecks + 1 : 0;
    this.answers = 0;
  }
}
