import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RingBuffer } from "../adapter.js";

/** Shifts everything out of `ring`, oldest first. */
function drain<T>(ring: RingBuffer<T>): T[] {
  const out: T[] = [];
  while (ring.length > 0) out.push(ring.shift() as T);
  return out;
}

describe("RingBuffer", () => {
  it("is first in, first out", () => {
    const ring = new RingBuffer<string>(3);
    expect(ring.push("a")).toBe(true);
    expect(ring.push("b")).toBe(true);
    expect(ring.push("c")).toBe(true);
    expect(ring.length).toBe(3);
    expect(drain(ring)).toEqual(["a", "b", "c"]);
    expect(ring.length).toBe(0);
  });

  it("returns undefined when shifting an empty ring", () => {
    const ring = new RingBuffer<number>(2);
    expect(ring.shift()).toBeUndefined();
    ring.push(1);
    ring.shift();
    expect(ring.shift()).toBeUndefined();
    expect(ring.length).toBe(0);
  });

  it("refuses a push when full and does not store the item", () => {
    const ring = new RingBuffer<string>(2);
    ring.push("a");
    ring.push("b");
    expect(ring.push("c")).toBe(false);
    expect(ring.length).toBe(2);
    expect(ring.shift()).toBe("a");
    expect(ring.push("d")).toBe(true);
    expect(ring.push("e")).toBe(false);
    expect(drain(ring)).toEqual(["b", "d"]);
  });

  it("wraps around over many cycles, keeping order", () => {
    const ring = new RingBuffer<number>(5);
    const seen: number[] = [];
    let next = 0;
    // Fill 3, drain 2, repeatedly: the head and tail walk round the ring many times.
    for (let cycle = 0; cycle < 1000; cycle++) {
      while (ring.length < 3) ring.push(next++);
      seen.push(ring.shift()!, ring.shift()!);
    }
    seen.push(...drain(ring));
    expect(seen).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it("removeAt removes one item from anywhere, wrapped around or not, the rest kept in order", () => {
    for (let start = 0; start < 5; start++) {
      for (let at = 0; at < 4; at++) {
        const ring = new RingBuffer<number>(5);
        // Rotate the head by `start` places, then hold 0..3.
        for (let i = 0; i < start; i++) {
          ring.push(-1);
          ring.shift();
        }
        for (let i = 0; i < 4; i++) ring.push(i);
        expect(ring.removeAt(at)).toBe(at);
        const left = Array.from({ length: ring.length }, (_, i) => ring.at(i));
        expect(left).toEqual([0, 1, 2, 3].filter((n) => n !== at));
        // Still a ring: two more fit, then it is full.
        expect([ring.push(8), ring.push(9), ring.push(10)]).toEqual([true, true, false]);
        expect(ring.at(ring.length - 1)).toBe(9);
      }
    }
    const ring = new RingBuffer<number>(2);
    expect([ring.removeAt(0), ring.removeAt(-1)]).toEqual([undefined, undefined]);
  });

  it("works with a capacity of 1", () => {
    const ring = new RingBuffer<string>(1);
    for (const item of ["x", "y", "z"]) {
      expect(ring.push(item)).toBe(true);
      expect(ring.push("overflow")).toBe(false);
      expect(ring.shift()).toBe(item);
    }
  });

  it("stores falsy items faithfully", () => {
    const ring = new RingBuffer<unknown>(4);
    for (const item of [0, "", false, null]) ring.push(item);
    expect(drain(ring)).toEqual([0, "", false, null]);
  });

  it("exposes its capacity", () => {
    expect(new RingBuffer(7).capacity).toBe(7);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    "rejects a capacity of %s with a RangeError",
    (capacity) => {
      expect(() => new RingBuffer(capacity)).toThrow(RangeError);
      expect(() => new RingBuffer(capacity)).toThrow(/^sse: capacity/);
    },
  );

  it("clear empties it and it is usable again", () => {
    const ring = new RingBuffer<number>(3);
    ring.push(1);
    ring.push(2);
    ring.shift();
    ring.push(3);
    ring.push(4);
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.shift()).toBeUndefined();
    expect(ring.at(0)).toBeUndefined();
    for (const item of [5, 6, 7]) expect(ring.push(item)).toBe(true);
    expect(ring.push(8)).toBe(false);
    expect(drain(ring)).toEqual([5, 6, 7]);
  });

  it("at(i) reads the i-th oldest item without removing it", () => {
    const ring = new RingBuffer<string>(3);
    ring.push("a");
    ring.push("b");
    ring.shift();
    ring.push("c");
    ring.push("d"); // wrapped
    expect([ring.at(0), ring.at(1), ring.at(2)]).toEqual(["b", "c", "d"]);
    expect(ring.at(3)).toBeUndefined();
    expect(ring.at(-1)).toBeUndefined();
    expect(ring.length).toBe(3);
  });

  it("holds room for what it holds, not for its capacity: 1,000 rings of 1e6 with one item each", () => {
    const rings = Array.from({ length: 1000 }, () => new RingBuffer<number>(1e6));
    expect(rings.reduce((sum, ring) => sum + ring.slots, 0)).toBe(0);
    for (const ring of rings) ring.push(1);
    // 8 slots each, where allocating the capacity took 1e9 (8 GB of heap).
    expect(rings.reduce((sum, ring) => sum + ring.slots, 0)).toBe(8000);
  });

  it("doubles its slots as it fills, up to its capacity, then refuses", () => {
    const ring = new RingBuffer<number>(20);
    const grownTo: number[] = [];
    for (let i = 0; i < 20; i++) {
      ring.push(i);
      if (grownTo.at(-1) !== ring.slots) grownTo.push(ring.slots);
    }
    expect(grownTo).toEqual([8, 16, 20]);
    expect(ring.push(20)).toBe(false);
    expect(ring.slots).toBe(20);
    expect(drain(ring)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("keeps order when it grows while wrapped round", () => {
    const ring = new RingBuffer<number>(100);
    for (let i = 0; i < 8; i++) ring.push(i);
    for (let i = 0; i < 5; i++) ring.shift(); // head at slot 5 of 8
    for (let i = 8; i < 30; i++) ring.push(i); // wraps, then grows to 16 and 32
    expect(ring.slots).toBe(32);
    expect(drain(ring)).toEqual(Array.from({ length: 25 }, (_, i) => i + 5));
  });

  it("allocates nothing more in the steady state, and lets its slots go on clear", () => {
    const ring = new RingBuffer<number>(1e6);
    for (let i = 0; i < 50; i++) ring.push(i);
    const slots = ring.slots;
    for (let i = 0; i < 10_000; i++) {
      ring.push(i);
      ring.shift();
    }
    expect(ring.slots).toBe(slots);
    ring.clear();
    expect(ring.slots).toBe(0);
  });

  it("behaves like a bounded array under any sequence of operations (model test)", () => {
    type Op = { kind: "push"; value: number } | { kind: "shift" } | { kind: "clear" };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.integer().map((value) => ({ kind: "push" as const, value })) },
      { weight: 4, arbitrary: fc.constant({ kind: "shift" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }), // past 8 and 16: it grows
        fc.array(opArb, { maxLength: 200 }),
        (capacity, ops) => {
          const ring = new RingBuffer<number>(capacity);
          const model: number[] = [];
          let peak = 0;
          for (const op of ops) {
            if (op.kind === "push") {
              const room = model.length < capacity;
              expect(ring.push(op.value)).toBe(room);
              if (room) model.push(op.value);
            } else if (op.kind === "shift") {
              expect(ring.shift()).toBe(model.shift());
            } else {
              ring.clear();
              model.length = 0;
            }
            expect(ring.length).toBe(model.length);
            for (let i = 0; i < model.length; i++) expect(ring.at(i)).toBe(model[i]);
            peak = op.kind === "clear" ? 0 : Math.max(peak, model.length);
            expect(ring.slots).toBeGreaterThanOrEqual(model.length);
            expect(ring.slots).toBeLessThanOrEqual(Math.min(capacity, Math.max(8, 2 * peak)));
          }
          expect(drain(ring)).toEqual(model);
        },
      ),
      { numRuns: 300 },
    );
  });
});
