/** A replay waiting for its turn. */
interface Waiter {
  grant: (release: (() => void) | undefined) => void;
  onAbort: () => void;
}

/**
 * Lets at most `max` replays read history from Redis at once; the others
 * wait in arrival order. A waiter whose client leaves (its signal aborts)
 * leaves the line at once, so the line holds only clients still connected.
 * Internal.
 */
export class ReplayQueue {
  private running = 0;
  private readonly line = new Set<Waiter>();

  constructor(private readonly max: number) {}

  /** Replays reading now, plus those waiting. */
  get size(): number {
    return this.running + this.line.size;
  }

  /**
   * Resolves with the function that ends this replay's turn, or undefined
   * when the signal aborts first or {@link flush} is called.
   */
  turn(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.running < this.max) {
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

  /** Sends every waiter away (Redis went down: their replays are misses). */
  flush(): void {
    for (const waiter of [...this.line]) waiter.grant(undefined);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.line.values().next().value;
      if (next === undefined) this.running--;
      else next.grant(this.releaser());
    };
  }
}
