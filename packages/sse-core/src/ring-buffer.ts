/**
 * A fixed-capacity FIFO queue with O(1) `push` and `shift` (no array shifting).
 * Each broker client queues its undelivered events in one.
 *
 * @example
 * ```ts
 * const ring = new RingBuffer<string>(2);
 * ring.push("a"); ring.push("b");
 * ring.push("c"); // false: full, "c" is not stored
 * ring.shift();   // "a"
 * ```
 */
export class RingBuffer<T> {
  /** How many items it can hold. */
  readonly capacity: number;
  /** Allocated on the first push: an idle client's empty ring costs no slots. */
  private items: (T | undefined)[] | undefined;
  private head = 0;
  private size = 0;

  /** @param capacity - maximum number of items; a positive integer. */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`sse: capacity: must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** How many items it holds now. */
  get length(): number {
    return this.size;
  }

  /** Appends `item`; returns false, storing nothing, when full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    if (this.items === undefined) this.items = new Array(this.capacity);
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return true;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const items = this.items!;
    const item = items[this.head];
    items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  /** The item `index` places from the oldest (0), or `undefined` out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.size) return undefined;
    return this.items![(this.head + index) % this.capacity];
  }

  /** Removes every item. */
  clear(): void {
    this.items?.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}
