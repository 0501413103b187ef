/**
 * `backplane.ready()`: promises that settle when the link reaches a verdict
 * (ready, refused by configuration, closed) or their time runs out, each
 * with its own timer, cleared as soon as it settles. Engine-free: the link
 * says what its verdict is now. Internal.
 */
import { type SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";

/** Options of {@link RedisBackplane.ready}. */
export interface ReadyOptions {
  /**
   * How long to wait for the link to become ready, in milliseconds, before
   * rejecting with an `SSEBackplaneError` of kind `"timeout"`;
   * `Infinity` waits as long as it takes (a configuration error or
   * `close()` still end the wait).
   * @default 10000
   */
  timeoutMs?: number;
}

/** Default {@link ReadyOptions.timeoutMs}: 10 seconds. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` honours; a longer wait has no timer. */
const MAX_TIMER_MS = 2_147_483_647;

/** The link's verdict now: ready, an error to reject with, or none yet. */
export type Verdict = "ready" | SSEBackplaneError | undefined;

/** The pending `ready()` calls of one link. Internal. */
export class Readiness {
  private readonly waiting = new Set<(verdict: Exclude<Verdict, undefined>) => void>();

  /**
   * @param verdict - the link's verdict now.
   * @param timedOut - the error of a wait of `timeoutMs` that ran out.
   */
  constructor(
    private readonly verdict: () => Verdict,
    private readonly timedOut: (timeoutMs: number) => SSEBackplaneError,
  ) {}

  /** Settles at the link's first verdict, or rejects once `timeoutMs` ran out. */
  wait(options: ReadyOptions = {}): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new SSEOptionError(
          "timeoutMs",
          "must be a number of milliseconds from 0, or Infinity",
          timeoutMs,
        ),
      );
    }
    const now = this.verdict();
    if (now === "ready") return Promise.resolve();
    if (now !== undefined) return Promise.reject(now);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (verdict: Exclude<Verdict, undefined>): void => {
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

  /** Settles every pending wait if the link has a verdict now; the link calls it on each change. */
  check(): void {
    if (this.waiting.size === 0) return;
    const now = this.verdict();
    if (now === undefined) return;
    for (const settle of [...this.waiting]) settle(now);
  }

  /** Pending waits, now (for tests). */
  get size(): number {
    return this.waiting.size;
  }
}
