/** How an {@link AdaptiveLimit} adapts; every field has a default. */
export interface AdaptiveLimitOptions {
  /** The ceiling (`maxReplays`). */
  max: number;
  /** The limit to start at. @default 1 */
  initial?: number;
  /**
   * A read is slow when it takes longer than `tolerance` times the
   * baseline (the fastest recent read) plus `slackMs`. @default 2
   */
  tolerance?: number;
  /** Added to the slow threshold, so that sub-millisecond jitter never counts. @default 1 */
  slackMs?: number;
  /** What a slow read keeps of the limit (the multiplicative decrease). @default 0.7 */
  backoff?: number;
}

/**
 * A concurrency limit that adapts to how fast the engine answers (AIMD on
 * read latency): each read answered about as fast as the fastest recent one
 * adds `1 / limit` (one more read at once per round of reads), each slow
 * one multiplies it by `backoff`; it stays between 1 and `max`. The
 * baseline drifts up slowly (a hundredth of each slower read), so that an
 * engine that got slower for good is not taken as slow forever. No clock:
 * the caller measures each read and passes its latency to
 * {@link AdaptiveLimit.sample}.
 *
 * @example
 * ```ts
 * const limit = new AdaptiveLimit({ max: 4 });
 * limit.current; // 1
 * limit.sample(2); // the first: the baseline; grows to 2
 * limit.sample(2); // fast: 2.5
 * limit.current; // 2
 * limit.sample(50); // slow: 1.75
 * limit.current; // 1
 * ```
 */
export class AdaptiveLimit {
  /** The fastest recent read's latency per entry, in milliseconds, once one was measured. */
  baseline: number | undefined;
  private value: number;
  private readonly max: number;
  private readonly tolerance: number;
  private readonly slackMs: number;
  private readonly backoff: number;

  constructor(options: AdaptiveLimitOptions) {
    this.max = Math.max(1, options.max);
    this.value = Math.min(this.max, Math.max(1, options.initial ?? 1));
    this.tolerance = options.tolerance ?? 2;
    this.slackMs = options.slackMs ?? 1;
    this.backoff = options.backoff ?? 0.7;
  }

  /** Reads allowed at once now: between 1 and `max`. */
  get current(): number {
    return Math.floor(this.value);
  }

  /**
   * One read's latency (milliseconds): grows the limit if it was fast,
   * shrinks it if slow. `size` (default 1) is what the read asked for (its
   * entries): reads of different sizes are compared by their latency per
   * entry, so a long read is not taken as a slow engine.
   */
  sample(latencyMs: number, size = 1): void {
    if (!(latencyMs >= 0) || !(size >= 1)) return;
    const perEntry = latencyMs / size;
    const base = this.baseline;
    if (base === undefined || perEntry < base) this.baseline = perEntry;
    else this.baseline = base + (perEntry - base) / 100;
    if (base !== undefined && perEntry > base * this.tolerance + this.slackMs / size) {
      this.value = Math.max(1, this.value * this.backoff);
    } else {
      this.value = Math.min(this.max, this.value + 1 / this.value);
    }
  }
}
