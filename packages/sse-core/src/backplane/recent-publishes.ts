/**
 * What a backplane remembers about its own publishes until their echo comes
 * back (when each was sent, or that it was delivered here already), keyed by
 * publish number (the kit's `formatOrigin` nonce, which only grows): at most
 * `max` of them, the first remembered forgotten first, every operation O(1)
 * amortized.
 *
 * A `Map` used as a queue is not: V8 leaves a hole for each key deleted, and
 * `map.keys().next()` walks every hole at the front, so forgetting the
 * oldest after the echoes of the front came costs as many steps as
 * publishes are in flight (about 9 µs a publish at 10,000). Here the
 * numbers are also kept in a plain queue, in the order remembered, and
 * each is stepped over once.
 *
 * @example
 * ```ts
 * const sentAt = new RecentPublishes<number>(10_000);
 * sentAt.set(7, performance.now());
 * const sent = sentAt.take(7, true); // 7 and every older one forgotten
 * ```
 */
export class RecentPublishes<V> {
  private readonly values = new Map<number, V>();
  /** The numbers remembered, in order, from {@link head}; some forgotten already (stale). */
  private order: number[] = [];
  private head = 0;

  /** `max`: most publishes remembered (a positive integer). */
  constructor(private readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`RecentPublishes: max must be a positive integer, got ${max}`);
    }
  }

  /** Publishes remembered now. */
  get size(): number {
    return this.values.size;
  }

  /**
   * Remembers `value` for publish `nonce`, forgetting the first remembered
   * past `max`. Publish numbers grow, so that is the oldest.
   */
  set(nonce: number, value: V): void {
    const known = this.values.has(nonce);
    this.values.set(nonce, value);
    if (known) return;
    this.order.push(nonce);
    while (this.values.size > this.max) this.values.delete(this.order[this.head++]!);
    this.compact();
  }

  /** Whether publish `nonce` is remembered. */
  has(nonce: number): boolean {
    return this.values.has(nonce);
  }

  /**
   * The value of publish `nonce` (undefined when not remembered), forgotten;
   * `older`: every publish remembered before it forgotten too (its echo, if
   * it still comes, finds nothing): the ones with a lower number, when
   * publishes were remembered in the order of their numbers.
   */
  take(nonce: number, older = false): V | undefined {
    const value = this.values.get(nonce);
    this.values.delete(nonce);
    if (older) {
      const { order } = this;
      while (this.head < order.length && order[this.head]! < nonce) {
        this.values.delete(order[this.head++]!);
      }
    }
    this.compact();
    return value;
  }

  /** Forgets publish `nonce`; whether it was remembered. */
  delete(nonce: number): boolean {
    const had = this.values.delete(nonce);
    if (had) this.compact();
    return had;
  }

  /** Forgets every publish. */
  clear(): void {
    this.values.clear();
    this.order = [];
    this.head = 0;
  }

  /** Drops the queue's stepped-over front, and its stale numbers once they outnumber `max`. */
  private compact(): void {
    const { order, head } = this;
    if (order.length - head > 2 * this.max + 64) {
      this.order = order.slice(head).filter((nonce) => this.values.has(nonce));
      this.head = 0;
    } else if (head > 1024 && head * 2 > order.length) {
      this.order = order.slice(head);
      this.head = 0;
    }
  }
}
