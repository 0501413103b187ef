// StormHold: reads start on the next turn unless resumes arrive in a storm;
// then they wait until it has passed, or maxHoldMs, in the order they were
// held. The clock and the timers are fake: every step is told.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StormHold } from "./storm-hold.js";

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setImmediate", "performance", "Date"],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A hold on the fake clock, and the reads it started, in order. */
function hold(options: { burst?: number; windowMs?: number; maxHoldMs?: number } = {}) {
  const started: string[] = [];
  const h = new StormHold({
    burst: 4,
    windowMs: 10,
    maxHoldMs: 100,
    now: () => Date.now(),
    ...options,
  });
  const arrive = (n: number) => {
    for (let i = 0; i < n; i++) h.arrive();
  };
  const run = (name: string) => h.run(() => started.push(name));
  return { h, started, arrive, run };
}

describe("StormHold", () => {
  it("starts a read on the next turn when resumes trickle in", () => {
    const { h, started, arrive, run } = hold();
    arrive(3);
    run("a");
    expect(started).toEqual([]);
    vi.advanceTimersToNextTimer();
    expect(started).toEqual(["a"]);
    // Arrivals spread wider than the window never make a storm.
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(4);
      arrive(1);
    }
    run("b");
    vi.runOnlyPendingTimers();
    expect(started).toEqual(["a", "b"]);
    expect(h.held).toBe(0);
  });

  it("holds reads while a storm goes on, then starts them all in order once it has passed", () => {
    const { h, started, arrive, run } = hold();
    arrive(4);
    expect(h.storming).toBe(true);
    run("a");
    run("b");
    expect(h.size).toBe(2);
    // Each look sees a burst arrived since the last: still a storm.
    for (let look = 0; look < 5; look++) {
      arrive(4);
      vi.advanceTimersByTime(10);
      expect(started).toEqual([]);
    }
    run("c");
    arrive(3); // fewer than a burst since the last look: passed
    vi.advanceTimersByTime(10);
    expect(started).toEqual(["a", "b", "c"]);
    expect(h.size).toBe(0);
    expect(h.held).toBe(3);
  });

  it("a read arriving while others are held waits behind them, even once the arrivals are calm", () => {
    const { started, arrive, run } = hold();
    arrive(4);
    run("a");
    vi.advanceTimersByTime(5);
    run("b"); // no storm starting now (the last 4 arrivals are 5 ms old), but "a" is held
    vi.advanceTimersByTime(5);
    expect(started).toEqual(["a", "b"]);
  });

  it("starts a read held maxHoldMs even while the storm goes on, the later ones still held", () => {
    const { started, arrive, run } = hold({ maxHoldMs: 30 });
    arrive(4);
    run("a");
    arrive(4);
    vi.advanceTimersByTime(10);
    run("b");
    for (let look = 0; look < 2; look++) {
      arrive(4);
      vi.advanceTimersByTime(10);
    }
    expect(started).toEqual(["a"]); // held 30 ms; "b" only 20
    arrive(4);
    vi.advanceTimersByTime(10);
    expect(started).toEqual(["a", "b"]);
  });

  it("goes on while any resume arrives and the look comes late: the event loop is busy admitting", () => {
    const { started, arrive, run } = hold();
    arrive(4);
    run("a");
    // Busy for 40 ms: the look comes 30 ms late, with a single arrival since the last look.
    vi.setSystemTime(Date.now() + 40);
    arrive(1);
    vi.advanceTimersByTime(10);
    expect(started).toEqual([]);
    // On time now, and a single arrival: calm.
    arrive(1);
    vi.advanceTimersByTime(10);
    expect(started).toEqual(["a"]);
  });

  it("a held read whose signal aborts leaves the line at once and never starts; the others keep their order", () => {
    const { h, started, arrive } = hold();
    arrive(4);
    const left = new AbortController();
    h.run(() => started.push("a"));
    h.run(() => started.push("gone"), left.signal);
    h.run(() => started.push("b"));
    left.abort();
    expect(h.size).toBe(2);
    h.run(() => started.push("never"), left.signal);
    expect(h.size).toBe(2);
    vi.runOnlyPendingTimers();
    expect(started).toEqual(["a", "b"]);
    expect(h.held).toBe(3);
    // The last held read leaving takes the next look with it.
    const alone = new AbortController();
    arrive(4);
    h.run(() => started.push("alone"), alone.signal);
    alone.abort();
    expect({ size: h.size, timers: vi.getTimerCount() }).toEqual({ size: 0, timers: 0 });
  });

  it("takes its defaults: a burst of 4 within 25 ms, held at most 2 s", () => {
    const h = new StormHold();
    const started: number[] = [];
    for (let i = 0; i < 3; i++) h.arrive();
    expect(h.storming).toBe(false);
    h.arrive();
    expect(h.storming).toBe(true);
    h.run(() => started.push(performance.now()));
    const from = performance.now();
    for (let t = 0; t < 3000 && started.length === 0; t += 25) {
      for (let i = 0; i < 4; i++) h.arrive();
      vi.advanceTimersByTime(25);
    }
    expect(started[0]! - from).toBe(2000);
  });
});
