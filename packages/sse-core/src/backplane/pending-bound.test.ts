// PendingBound alone, with fake timers: maxPending holds only once the engine
// is seen silent for two checks in a row; while it answers, a burst has ten
// times the room.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BURST_FACTOR, PendingBound, stallCheckMs } from "./pending-bound.js";

describe("PendingBound", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("admits up to maxPending always, up to ten times that while the engine answers, maxPending once it is silent for two checks", () => {
    let pending = 0;
    const bound = new PendingBound(10, 100, () => pending);
    pending = 9;
    expect(bound.admits()).toBe(true);
    pending = 10 * BURST_FACTOR - 1;
    bound.waiting();
    expect(bound.admits()).toBe(true);
    pending = 10 * BURST_FACTOR;
    expect(bound.admits()).toBe(false);
    pending = 50;
    // One silent check: a blocked event loop may not have read the answer yet.
    vi.advanceTimersByTime(100);
    expect([bound.stalled, bound.admits()]).toEqual([false, true]);
    vi.advanceTimersByTime(100);
    expect([bound.stalled, bound.admits()]).toEqual([true, false]);
    pending = 9;
    expect(bound.admits()).toBe(true);
    // An answer: not hung.
    pending = 50;
    bound.answered();
    expect([bound.stalled, bound.admits()]).toEqual([false, true]);
    vi.advanceTimersByTime(100);
    expect(bound.stalled).toBe(false);
  });

  it("checks only while events wait, and starts over when none does", () => {
    let pending = 5;
    const bound = new PendingBound(1, 100, () => pending);
    bound.waiting();
    vi.advanceTimersByTime(200);
    expect(bound.stalled).toBe(true);
    pending = 0;
    vi.advanceTimersByTime(100);
    expect(bound.stalled).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    pending = 5;
    bound.waiting();
    bound.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("checks a quarter of timeoutMs apart, 50 ms to 1 s", () => {
    expect([stallCheckMs(2000), stallCheckMs(100), stallCheckMs(60_000)]).toEqual([500, 50, 1000]);
  });
});
