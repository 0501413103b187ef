/** A replay waiting for its turn. */
interface Waiter {
  admit(release: (() => void) | undefined): void;
}

/**
 * Lets at most `max` replays read history at once; the others wait in
 * arrival order. A waiter whose client leaves (its signal aborts) leaves the
 * line at once and reads nothing. Internal.
 */
export class ReplayLimit {
  private running = 0;
  private readonly line = new Set<Waiter>();

  constructor(private readonly max: number) {}

  /** Replays reading now, plus those waiting. */
  get size(): number {
    return this.running + this.line.size;
  }

  /**
   * Resolves with the function that ends this replay's turn; or undefined
   * when `signal` aborts first, or {@link flush} sends the line away.
   */
  turn(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve(this.release());
    }
    return new Promise((resolve) => {
      const onAbort = (): void => waiter.admit(undefined);
      const waiter: Waiter = {
        admit: (release) => {
          this.line.delete(waiter);
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      this.line.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Sends every waiter away (the database went down: their replays are misses). */
  flush(): void {
    for (const waiter of [...this.line]) waiter.admit(undefined);
  }

  /** Ends a turn once: the next in line takes it over, or the slot frees. */
  private release(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.line.values().next().value;
      if (next === undefined) this.running--;
      else next.admit(this.release());
    };
  }
}
