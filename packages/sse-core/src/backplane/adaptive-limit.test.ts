// AdaptiveLimit: AIMD on read latencies passed in (no clock): grows by 1/limit
// per fast read up to max, shrinks by backoff per slow one down to 1.
import { describe, expect, it } from "vitest";
import { AdaptiveLimit } from "./adaptive-limit.js";
import { ReplayQueue } from "./replay-queue.js";

describe("AdaptiveLimit", () => {
  it("compares reads by latency per entry: a long read as fast per entry is not slow; one slower per entry is", () => {
    const limit = new AdaptiveLimit({ max: 4, initial: 4 });
    limit.sample(2, 10); // the baseline: 0.2 ms per entry
    limit.sample(40, 200); // 0.2 ms per entry, 20 times as long: fast
    expect(limit.current).toBe(4);
    limit.sample(200, 200); // 1 ms per entry: slow
    expect(limit.current).toBe(2);
    limit.sample(200); // size 1: 200 ms for one entry, slow
    expect(limit.current).toBe(1);
  });

  it("starts at 1 and grows while reads stay about as fast as the fastest, up to max", () => {
    const limit = new AdaptiveLimit({ max: 4 });
    expect(limit.current).toBe(1);
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      limit.sample(2 + (i % 3)); // 2..4 ms: within 2 x 2 + 1
      seen.push(limit.current);
    }
    expect(seen.slice(0, 4)).toEqual([2, 2, 2, 3]);
    expect(Math.max(...seen)).toBe(4);
    expect(limit.current).toBe(4);
    expect(limit.baseline).toBeGreaterThanOrEqual(2);
  });

  it("shrinks by backoff on each slow read, never below 1, and grows again once reads are fast", () => {
    const limit = new AdaptiveLimit({ max: 10, initial: 10 });
    limit.sample(1); // the baseline
    expect(limit.current).toBe(10);
    limit.sample(40);
    expect(limit.current).toBe(7);
    limit.sample(40);
    expect(limit.current).toBe(4);
    for (let i = 0; i < 10; i++) limit.sample(40);
    expect(limit.current).toBe(1);
    for (let i = 0; i < 6; i++) limit.sample(1);
    expect(limit.current).toBeGreaterThan(1);
  });

  it("lets its baseline drift up, so that an engine slower for good stops counting as slow", () => {
    const limit = new AdaptiveLimit({ max: 4 });
    limit.sample(1);
    let slow = 0;
    for (let i = 0; i < 1000; i++) {
      const before = limit.current;
      limit.sample(20);
      if (limit.current < before) slow++;
    }
    expect(limit.baseline).toBeGreaterThan(9);
    expect(slow).toBeGreaterThan(0);
    // Past the drift, 20 ms is the engine's pace: the limit is back at its ceiling.
    expect(limit.current).toBe(4);
  });

  it("ignores latencies that are not numbers of milliseconds", () => {
    const limit = new AdaptiveLimit({ max: 4 });
    limit.sample(Number.NaN);
    limit.sample(-1);
    expect(limit.baseline).toBeUndefined();
    expect(limit.current).toBe(1);
  });

  it("drives a ReplayQueue: turns granted as the limit grows, none past it after it shrank", async () => {
    const limit = new AdaptiveLimit({ max: 3 });
    const queue = new ReplayQueue(limit);
    const granted: (() => void)[] = [];
    const turns = Array.from({ length: 5 }, () =>
      queue.turn().then((release) => granted.push(release!)),
    );
    await Promise.resolve();
    expect(granted).toHaveLength(1);
    limit.sample(1);
    limit.sample(1);
    limit.sample(1); // 2.5 + 0.4: 2
    limit.sample(1); // 3.2: 3
    expect(limit.current).toBe(3);
    granted[0]!(); // one ends: the limit now lets three run
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toHaveLength(4);
    expect(queue.size).toBe(4);
    limit.sample(100); // 2.2: 2
    limit.sample(100); // 1.5: 1
    granted[1]!();
    granted[2]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toHaveLength(4); // one still runs: the limit (1) is reached
    granted[3]!();
    await Promise.all(turns);
    expect(granted).toHaveLength(5);
    granted[4]!();
    expect(queue.size).toBe(0);
  });
});
