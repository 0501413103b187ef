import { describe, expect, it } from "vitest";
import { type Flushable, FlushScheduler } from "./flush.js";
import type { FlushPass } from "./flush-pass.js";

/** A stream that records the passes it was flushed with, and can ask again while flushed. */
function stream(name: string, log: [string, FlushPass][], again?: () => void): Flushable {
  return {
    flushMark: 0,
    flush(pass) {
      log.push([name, pass]);
      again?.();
    },
  };
}

describe("FlushScheduler", () => {
  it("flushes each stream asked in a tick once, in the order asked, with one shared pass", async () => {
    const scheduler = new FlushScheduler();
    const log: [string, FlushPass][] = [];
    const a = stream("a", log);
    const b = stream("b", log);
    scheduler.schedule(a);
    scheduler.schedule(b);
    scheduler.schedule(a);
    scheduler.schedule(b);
    expect(log).toEqual([]);
    await Promise.resolve();
    expect(log.map(([name]) => name)).toEqual(["a", "b"]);
    expect(log[0]![1]).toBe(log[1]![1]);
    // The next tick is a new pass: asked again, flushed again, with a fresh pass.
    scheduler.schedule(a);
    await Promise.resolve();
    expect(log.map(([name]) => name)).toEqual(["a", "b", "a"]);
    expect(log[2]![1]).not.toBe(log[0]![1]);
  });

  it("flushes a stream that asks again while it is flushed in the next pass, not never", async () => {
    const scheduler = new FlushScheduler();
    const log: [string, FlushPass][] = [];
    let asks = 2;
    const a: Flushable = stream("a", log, () => {
      if (asks-- > 0) scheduler.schedule(a);
    });
    scheduler.schedule(a);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(log.map(([name]) => name)).toEqual(["a", "a", "a"]);
    expect(new Set(log.map(([, pass]) => pass)).size).toBe(3);
  });
});
