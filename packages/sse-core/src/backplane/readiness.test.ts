// The ready() waits' timers (unit): cleared as soon as a wait settles, none
// for Infinity or a wait longer than setTimeout can hold (which would fire
// after 1 ms). Moved from sse-redis's readiness.test.ts with the class.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SSEBackplaneError } from "../base/errors.js";
import { Readiness, type ReadyVerdict } from "./readiness.js";

describe("Readiness", () => {
  let verdict: ReadyVerdict;
  let readiness: Readiness;

  beforeEach(() => {
    vi.useFakeTimers();
    verdict = undefined;
    readiness = new Readiness(
      () => verdict,
      (ms) => new SSEBackplaneError("timeout", `not ready within ${ms} ms`),
    );
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a wait that settles clears its timer; every pending wait settles at the first verdict", async () => {
    const first = readiness.wait(60_000);
    const second = readiness.wait(10_000);
    expect(vi.getTimerCount()).toBe(2);
    readiness.check();
    expect(readiness.size).toBe(2);
    verdict = "ready";
    readiness.check();
    await Promise.all([first, second]);
    expect(vi.getTimerCount()).toBe(0);
    expect(readiness.size).toBe(0);
    // Ready already: at once, no timer.
    await readiness.wait(5000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a rejection clears its timer too; a wait that times out leaves nothing behind", async () => {
    const refused = readiness.wait(60_000).catch((e) => e);
    const timedOut = readiness.wait(100).catch((e) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await timedOut).toMatchObject({
      kind: "timeout",
      message: "sse: not ready within 100 ms",
    });
    verdict = new SSEBackplaneError("configuration", "refused");
    readiness.check();
    expect(await refused).toMatchObject({ kind: "configuration" });
    expect(vi.getTimerCount()).toBe(0);
    expect(readiness.size).toBe(0);
    // A verdict already there: at once, no timer.
    await expect(readiness.wait(5000)).rejects.toMatchObject({ kind: "configuration" });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("Infinity, and waits past setTimeout's range, set no timer and do not time out", async () => {
    let settled = false;
    for (const timeoutMs of [Number.POSITIVE_INFINITY, 2 ** 40]) {
      readiness.wait(timeoutMs).then(
        () => {},
        () => {
          settled = true;
        },
      );
    }
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(settled).toBe(false);
    verdict = new SSEBackplaneError("closed", "closed");
    readiness.check();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
  });
});
