/**
 * A backplane's `ready()` calls: promises that settle when its link
 * reaches a verdict (ready, refused, closed) or their time runs out, each
 * with its own timer, cleared as soon as it settles. Engine-free: the link
 * says what its verdict is now, and what a wait that ran out rejects with.
 */
import type { SSEBackplaneError } from "../base/errors.js";

/** Default timeout of a backplane's `ready()`: 10 seconds. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` honours (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A link's verdict now, for its `ready()` calls: `"ready"`, the error to
 * reject them with (a configuration refused, closed first), or `undefined`
 * while there is none yet.
 */
export type ReadyVerdict = "ready" | SSEBackplaneError | undefined;

/**
 * The pending `ready()` calls of one backplane. Each resolves at the link's
 * first `"ready"` verdict, rejects at its first error verdict, or rejects
 * with `timedOut(timeoutMs)` once its time ran out; its timer is cleared
 * however it settles. The link calls {@link Readiness.check} on every change.
 *
 * @example
 * ```ts
 * const readiness = new Readiness(
 *   () => (link.state === "ready" ? "ready" : link.refusal),
 *   (ms) => new SSEBackplaneError("timeout", `not ready within ${ms} ms`),
 * );
 * // backplane.ready(): await readiness.wait(options?.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS)
 * // on every state change: readiness.check()
 * ```
 */
export class Readiness {
  private readonly waiting = new Set<(verdict: Exclude<ReadyVerdict, undefined>) => void>();

  /**
   * @param verdict - the link's verdict now.
   * @param timedOut - the error of a wait of `timeoutMs` that ran out.
   */
  constructor(
    private readonly verdict: () => ReadyVerdict,
    private readonly timedOut: (timeoutMs: number) => SSEBackplaneError,
  ) {}

  /**
   * Settles at the link's first verdict (at once if it has one), or rejects
   * once `timeoutMs` (checked by the caller) ran out. A `timeoutMs` past
   * {@link MAX_TIMER_MS} (`Infinity`) sets no timer: only a verdict ends it.
   * The timer is not unref'd: a startup script awaiting it stays alive.
   */
  wait(timeoutMs: number): Promise<void> {
    const now = this.verdict();
    if (now === "ready") return Promise.resolve();
    if (now !== undefined) return Promise.reject(now);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (verdict: Exclude<ReadyVerdict, undefined>): void => {
        clearTimeout(timer);
        this.waiting.delete(settle);
        if (verdict === "ready") resolve();
        else reject(verdict);
      };
      this.waiting.add(settle);
      if (timeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(() => settle(this.timedOut(timeoutMs)), timeoutMs);
      }
    });
  }

  /** Settles every pending wait if the link has a verdict now; call it on each change. */
  check(): void {
    if (this.waiting.size === 0) return;
    const now = this.verdict();
    if (now === undefined) return;
    for (const settle of [...this.waiting]) settle(now);
  }

  /** Pending waits, now. */
  get size(): number {
    return this.waiting.size;
  }
}
