// StormHold on the real clock, with no timed assertion: its maxHoldMs is a
// minute (past the test's own timeout), so a read it held for as long as it
// may would fail the test by timing out; `held` counts every read it held at
// all. A trickle is never held, a storm that ends releases its reads (no
// minute waited), and a trickle after it is not held either.
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ReplayQueue } from "./replay-queue.js";
import { SharedReads } from "./shared-reads.js";
import { StormHold } from "./storm-hold.js";

const WINDOW_MS = 10;

/** Reads through a hold of 4 resumes per 10 ms, held a minute at most, on an engine that answers at once. */
function realClock() {
  const hold = new StormHold({ burst: 4, windowMs: WINDOW_MS, maxHoldMs: 60_000 });
  const reads = new SharedReads<number>(
    async () => ({ entries: [], complete: true, head: 0, floor: 0 }),
    new ReplayQueue(4),
    () => {},
    undefined,
    hold,
  );
  const resume = (topic: string) => reads.slice(topic, "e", 0, 10);
  return { hold, reads, resume };
}

describe("StormHold on the real clock", () => {
  it("a lone resume, and resumes spaced apart, are never held", async () => {
    const { hold, resume } = realClock();
    expect(await resume("a")).toEqual({ entries: [], upTo: 0 });
    expect(hold.held).toBe(0);
    // Six more (4 together would be a storm), each twice the window after the one before:
    // a slower machine only spaces them more.
    for (let i = 0; i < 6; i++) {
      await sleep(2 * WINDOW_MS);
      expect(await resume(`t${i % 3}`)).toEqual({ entries: [], upTo: 0 });
    }
    expect(hold.held).toBe(0);
  });

  it("a storm that ends releases its reads without waiting out maxHoldMs; a trickle after it is not held", async () => {
    const { hold, reads, resume } = realClock();
    // Eight resumes of eight topics in one turn: a storm (4 within 10 ms) from the fourth on.
    const storm = Array.from({ length: 8 }, (_, i) => resume(`s${i}`));
    expect(hold.size).toBeGreaterThan(0);
    const held = hold.held;
    expect(await Promise.all(storm)).toEqual(storm.map(() => ({ entries: [], upTo: 0 })));
    expect({ size: hold.size, waiting: reads.size }).toEqual({ size: 0, waiting: 0 });
    await sleep(2 * WINDOW_MS);
    expect(await resume("s0")).toEqual({ entries: [], upTo: 0 });
    await sleep(2 * WINDOW_MS);
    expect(await resume("late")).toEqual({ entries: [], upTo: 0 });
    expect(hold.held).toBe(held);
  });
});
