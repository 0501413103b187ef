/** A replay waiting for its turn. */
interface Waiter {
  grant(release: (() => void) | undefined): void;
  onAbort(): void;
}

/** A limit read at each turn: a number, or one that adapts (see {@link AdaptiveLimit}). */
export type TurnLimit = number | { readonly current: number };

/**
 * The line of a backplane's history reads (for resumes with
 * `Last-Event-ID`): at most `max` at once (a number, or a limit that adapts,
 * read again each time a turn ends), the others wait in arrival order. A waiter
 * whose client leaves (its signal aborts) leaves the line at once and reads
 * nothing, so the line holds only clients still connected.
 *
 * @example
 * ```ts
 * const replays = new ReplayQueue(4);
 * const release = await replays.turn(signal);
 * if (release === undefined) return undefined; // the client left, or the link went down
 * try {
 *   return await readHistory();
 * } finally {
 *   release();
 * }
 * ```
 */
export class ReplayQueue {
  private running = 0;
  private readonly line = new Set<Waiter>();

  /** @param max - most turns at once: `maxReplays`, or an {@link AdaptiveLimit} under it. */
  constructor(private readonly max: TurnLimit) {}

  /** Turns allowed at once now (at least 1). */
  get limit(): number {
    return Math.max(1, typeof this.max === "number" ? this.max : this.max.current);
  }

  /** Replays reading now, plus those waiting (`stats().backplane.replays`). */
  get size(): number {
    return this.running + this.line.size;
  }

  /**
   * Resolves with the function that ends this replay's turn (calling it
   * twice ends it once); or undefined when `signal` aborts first, or
   * {@link ReplayQueue.flush} sends the line away.
   */
  turn(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: (release) => {
          this.line.delete(waiter);
          signal?.removeEventListener("abort", waiter.onAbort);
          resolve(release);
        },
        onAbort: () => waiter.grant(undefined),
      };
      this.line.add(waiter);
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
    });
  }

  /** Sends every waiter away (the link went down, or closed: their replays are misses). */
  flush(): void {
    for (const waiter of [...this.line]) waiter.grant(undefined);
  }

  /**
   * Ends a turn once: the slot frees, and the first in line take the slots
   * the limit allows now (more than one when it grew, none when it shrank).
   */
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      while (this.running < this.limit) {
        const next = this.line.values().next().value;
        if (next === undefined) break;
        this.running++;
        next.grant(this.releaser());
      }
    };
  }
}
