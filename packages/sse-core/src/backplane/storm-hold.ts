/**
 * Holding history reads back while resumes arrive in a storm, so that a
 * process restarted under load admits its clients first (their headers and
 * a live stream at once) and reads their replays once the storm has passed,
 * in far fewer, shared reads.
 */

/** How a {@link StormHold} tells a storm; every field has a default. */
export interface StormHoldOptions {
  /**
   * Arrivals that make a storm: within {@link StormHoldOptions.windowMs} of
   * each other to start one, and between two looks to go on (or one, when
   * the look came late: the event loop is busy). @default 4
   */
  burst?: number;
  /** How often held reads are looked at (a busy event loop looks later). @default 25 */
  windowMs?: number;
  /** The longest a read is held, however long the storm lasts. @default 2000 */
  maxHoldMs?: number;
  /** The clock, in milliseconds. @default performance.now */
  now?: () => number;
}

interface Held {
  readonly since: number;
  /** Undefined once its reader left (its signal aborted): it never starts. */
  start: (() => void) | undefined;
  readonly signal: AbortSignal | undefined;
  /** Takes it out of the line: its reader left. */
  readonly leave: () => void;
}

/**
 * Starts reads at once (on the next turn of the event loop) unless resumes
 * arrive in a storm. A storm starts when `burst` resumes arrive within
 * `windowMs`; it goes on while at least `burst` arrive between two looks at
 * the held reads (one every `windowMs`), or while any arrives and the look
 * comes late by `windowMs` or more: the process is still busy admitting
 * them. During a storm a read is held, for `maxHoldMs`
 * at most; held reads start in the order they were held once it has
 * passed. Meanwhile the process spends its time admitting connections
 * (whose kernel accept queue would otherwise overflow, so that clients
 * retry a second or three later), and each topic's resumes gather into one
 * read. A trickle (fewer than `burst` per `windowMs`: 160 resumes a second
 * by default) is never held. A read whose signal aborts (nobody waits for
 * it any more) leaves the line at once and never starts; the last one
 * leaving takes the next look with it.
 *
 * @example
 * ```ts
 * const hold = new StormHold();
 * hold.arrive(); // a resume asked for a read
 * hold.run(() => startRead(), signal); // next turn, or once the storm has passed; never once it aborted
 * ```
 */
export class StormHold {
  /** Reads held back, ever. */
  held = 0;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxHoldMs: number;
  private readonly now: () => number;
  /** The last `burst` arrival times, a ring: `next` is the oldest once full. */
  private readonly times: Float64Array;
  private count = 0;
  private next = 0;
  /** Arrivals since the last look at the held reads. */
  private since = 0;
  private line: Held[] = [];
  /** Reads in {@link line} whose reader has not left. */
  private waiting = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer of the next look was set. */
  private armedAt = 0;

  constructor(options: StormHoldOptions = {}) {
    this.burst = Math.max(1, Math.floor(options.burst ?? 4));
    this.windowMs = Math.max(1, options.windowMs ?? 25);
    this.maxHoldMs = Math.max(0, options.maxHoldMs ?? 2000);
    this.now = options.now ?? (() => performance.now());
    this.times = new Float64Array(this.burst);
  }

  /** Whether a storm is starting: the last `burst` arrivals came within `windowMs`. */
  get storming(): boolean {
    if (this.count < this.burst) return false;
    return this.now() - this.times[this.next]! < this.windowMs;
  }

  /** Reads held now. */
  get size(): number {
    return this.waiting;
  }

  /** Counts one arrival (a resume asking for a read). */
  arrive(): void {
    this.since++;
    this.times[this.next] = this.now();
    this.next = (this.next + 1) % this.burst;
    if (this.count < this.burst) this.count++;
  }

  /**
   * Runs `start` on the next turn of the event loop, or once the storm has
   * passed (or held it long enough); never once `signal` aborted: then it
   * leaves the line at once.
   */
  run(start: () => void, signal?: AbortSignal): void {
    if (signal?.aborted) return;
    if (this.waiting === 0 && !this.storming) {
      setImmediate(() => {
        if (!signal?.aborted) start();
      });
      return;
    }
    this.held++;
    if (this.waiting === 0) this.since = 0;
    const held: Held = { since: this.now(), start, signal, leave: () => this.leave(held) };
    this.line.push(held);
    this.waiting++;
    signal?.addEventListener("abort", held.leave, { once: true });
    this.arm();
  }

  /** `held`'s reader left: it never starts; with nothing left to hold, no look is due. */
  private leave(held: Held): void {
    if (held.start === undefined) return;
    held.start = undefined;
    this.waiting--;
    if (this.waiting > 0) return;
    this.line = [];
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.armedAt = this.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, this.windowMs);
  }

  /** Starts every held read once the storm has passed; during it, those held `maxHoldMs`. */
  private release(): void {
    const now = this.now();
    const busy = now - this.armedAt >= 2 * this.windowMs;
    const calm = this.since < (busy ? 1 : this.burst);
    if (this.waiting < this.line.length) this.line = this.line.filter((held) => held.start);
    let n = 0;
    while (n < this.line.length && (calm || now - this.line[n]!.since >= this.maxHoldMs)) n++;
    const due = this.line.splice(0, n);
    this.since = 0;
    this.waiting -= due.length;
    if (this.line.length > 0) this.arm();
    for (const held of due) held.signal?.removeEventListener("abort", held.leave);
    for (const held of due) held.start!();
  }
}
