/** Slots a ring allocates on its first push (or its capacity, if smaller). */
const FIRST_SLOTS = 8;

/**
 * A bounded FIFO queue with O(1) `push` and `shift` (no array shifting).
 * Each broker client queues its undelivered events in one.
 *
 * It holds room only for what it is asked to hold: nothing until the first
 * push, then 8 slots, doubling whenever it fills, up to `capacity`. A client
 * of `bufferSize: 1e6` that has one event queued holds 8 slots, not a
 * million. It keeps the room it grew to until `clear()`, so that a queue
 * that filled once allocates nothing on later pushes.
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
  /** Made on the first push and grown on demand: an idle client's empty ring costs no slots. */
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

  /**
   * How many item slots it has allocated now: 0 before the first push and
   * after `clear()`, at most `capacity`. Never less than `length`.
   */
  get slots(): number {
    return this.items === undefined ? 0 : this.items.length;
  }

  /** Appends `item`; returns false, storing nothing, when full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    let items = this.items;
    if (items === undefined || this.size === items.length) items = this.grow(items);
    items[this.slot(this.size, items.length)] = item;
    this.size++;
    return true;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const items = this.items!;
    const item = items[this.head];
    items[this.head] = undefined;
    this.head = this.slot(1, items.length);
    this.size--;
    return item;
  }

  /** The item `index` places from the oldest (0), or `undefined` out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.size) return undefined;
    const items = this.items!;
    return items[this.slot(index, items.length)];
  }

  /**
   * Removes the item `index` places from the oldest (the later ones move
   * up one place, in order); returns it, or `undefined` out of range. Costs
   * the number of items after it.
   */
  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.size) return undefined;
    const items = this.items!;
    const slots = items.length;
    const item = items[this.slot(index, slots)];
    for (let i = index; i < this.size - 1; i++) {
      items[this.slot(i, slots)] = items[this.slot(i + 1, slots)];
    }
    items[this.slot(this.size - 1, slots)] = undefined;
    this.size--;
    return item;
  }

  /** Removes every item and lets its slots go. */
  clear(): void {
    this.items = undefined;
    this.head = 0;
    this.size = 0;
  }

  /** The slot of the item `index` places from the head (`index` < `slots`). */
  private slot(index: number, slots: number): number {
    const i = this.head + index;
    return i < slots ? i : i - slots;
  }

  /** Room for more: the first slots, or twice as many (up to `capacity`), items in order from 0. */
  private grow(items: (T | undefined)[] | undefined): (T | undefined)[] {
    const old = items ?? [];
    const grown = new Array<T | undefined>(
      Math.min(old.length === 0 ? FIRST_SLOTS : old.length * 2, this.capacity),
    );
    for (let i = 0; i < this.size; i++) grown[i] = old[this.slot(i, old.length)];
    this.items = grown;
    this.head = 0;
    return grown;
  }
}
