// RecentPublishes: what a backplane remembers about its own publishes until
// their echo comes, set against a plain model (a Map searched in full) over
// random schedules, and its queue bounded whatever the order of echoes.
import { describe, expect, it } from "vitest";
import { RecentPublishes } from "./recent-publishes.js";

/** A deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model: the same rules, found by searching every entry. */
class Model {
  readonly values = new Map<number, string>();
  constructor(private readonly max: number) {}
  set(nonce: number, value: string): void {
    this.values.set(nonce, value);
    while (this.values.size > this.max) this.values.delete(Math.min(...this.values.keys()));
  }
  take(nonce: number, older: boolean): string | undefined {
    const value = this.values.get(nonce);
    this.values.delete(nonce);
    if (older) for (const key of [...this.values.keys()]) if (key < nonce) this.values.delete(key);
    return value;
  }
}

const queueLength = (memory: RecentPublishes<unknown>): number => {
  const inside = memory as unknown as { order: number[]; head: number };
  return inside.order.length - inside.head;
};

describe("RecentPublishes", () => {
  it("forgets the oldest past max, and take(n, true) every publish before n", () => {
    const memory = new RecentPublishes<string>(3);
    for (const nonce of [1, 2, 3, 4]) memory.set(nonce, `v${nonce}`);
    expect([memory.size, memory.has(1), memory.has(2)]).toEqual([3, false, true]);
    expect(memory.take(3, true)).toBe("v3");
    // 2 was sent before 3: its echo, coming later, finds nothing.
    expect([memory.take(2), memory.size, memory.has(4)]).toEqual([undefined, 1, true]);
    expect([memory.delete(4), memory.delete(4)]).toEqual([true, false]);
    memory.set(5, "v5");
    memory.clear();
    expect([memory.size, memory.take(5)]).toEqual([0, undefined]);
  });

  it("takes a publish once, and an unknown one as undefined", () => {
    const memory = new RecentPublishes<number>(10);
    memory.set(7, 70);
    expect([memory.take(7), memory.take(7), memory.take(8, true)]).toEqual([
      70,
      undefined,
      undefined,
    ]);
  });

  it("rejects a max that is not a positive integer, naming it", () => {
    for (const max of [0, -1, 1.5, Number.NaN]) {
      expect(() => new RecentPublishes(max)).toThrow(/max must be a positive integer/);
    }
  });

  it.each([1, 2, 3, 4, 5])(
    "agrees with the model over a random schedule of publishes and echoes (seed %i)",
    (seed) => {
      const next = random(seed);
      const max = 1 + Math.floor(next() * 50);
      const memory = new RecentPublishes<string>(max);
      const model = new Model(max);
      let nonce = 0;
      for (let step = 0; step < 5_000; step++) {
        const roll = next();
        if (roll < 0.5) {
          // Not every publish is remembered (its topic's echo is not awaited).
          nonce += 1 + Math.floor(next() * 3);
          memory.set(nonce, `v${nonce}`);
          model.set(nonce, `v${nonce}`);
        } else if (roll < 0.9) {
          // An echo: mostly the oldest in flight, sometimes out of order or long gone.
          const target = Math.max(1, nonce - Math.floor(next() * (max + 5)));
          const older = next() < 0.5;
          expect(memory.take(target, older)).toBe(model.take(target, older));
        } else if (roll < 0.99) {
          const target = Math.max(1, nonce - Math.floor(next() * max));
          expect(memory.delete(target)).toBe(model.values.delete(target));
        } else {
          memory.clear();
          model.values.clear();
        }
        expect(memory.size).toBe(model.values.size);
      }
      for (let n = 0; n <= nonce; n++) expect(memory.has(n)).toBe(model.values.has(n));
    },
  );

  it("keeps its queue bounded when echoes come out of order and the first never comes", () => {
    const max = 100;
    const memory = new RecentPublishes<number>(max);
    memory.set(1, 1);
    for (let nonce = 2; nonce < 20_000; nonce++) {
      memory.set(nonce, nonce);
      // Each echo comes one publish late, taken exactly: the front is never stepped over by take.
      if (nonce > 2) memory.take(nonce - 1);
      if (nonce % 100 === 0) expect(queueLength(memory)).toBeLessThanOrEqual(2 * max + 64 + 1);
    }
    expect(memory.has(1)).toBe(true);
  });
});
