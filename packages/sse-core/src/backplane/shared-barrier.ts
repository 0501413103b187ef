import { unlessAborted } from "../base/unless-aborted.js";

/**
 * One barrier for every replay that asks before it is sent: a backplane's
 * barrier (a PING on Redis's subscriber connection, a NOTIFY to itself on
 * PostgreSQL) answers once the live copies of what was ordered before it was
 * sent have been delivered, so one sent after several reads ended serves
 * them all.
 *
 * @example
 * ```ts
 * const barrier = new SharedBarrier(() => ping().then(() => true, () => false));
 * // after a replay's read ended:
 * if (!(await barrier.wait())) return undefined; // not answered: a miss
 * ```
 */
export class SharedBarrier {
  /** Barriers sent, ever. */
  sent = 0;
  private scheduled: Promise<boolean> | undefined;

  /** @param send - sends one barrier; resolves true once answered, false if not (never rejects). */
  constructor(private readonly send: () => Promise<boolean>) {}

  /**
   * Resolves with the answer of a barrier sent after this call: the one
   * scheduled (sent once the current turn of the event loop is over, so that
   * every replay served by the same read joins it), or a new one. With
   * `signal` (the resuming client leaving): false at once when it aborts,
   * so a replay whose client is gone does not wait for an answer (which a
   * hung engine gives only after its timeout); the barrier still serves the others.
   */
  wait(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return unlessAborted(this.answer(), signal, false);
  }

  /** The answer of the barrier scheduled, or of a new one. */
  private answer(): Promise<boolean> {
    if (this.scheduled === undefined) {
      this.scheduled = new Promise((resolve) => {
        setImmediate(() => {
          this.scheduled = undefined;
          this.sent++;
          // A send that throws at once answers false, as one that rejects.
          Promise.resolve()
            .then(() => this.send())
            .then(resolve, () => resolve(false));
        });
      });
    }
    return this.scheduled;
  }
}
