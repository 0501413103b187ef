// The ready() waits' timers (unit): cleared as soon as a wait settles, none
// for Infinity or a wait longer than setTimeout can hold (which would fire
// after 1 ms).
import { SSEBackplaneError } from "@burrow/sse-core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Readiness, type Verdict } from "./readiness.js";

describe("Readiness", () => {
  let verdict: Verdict;
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
    const first = readiness.wait({ timeoutMs: 60_000 });
    const second = readiness.wait();
    expect(vi.getTimerCount()).toBe(2);
    readiness.check();
    expect(readiness.size).toBe(2);
    verdict = "ready";
    readiness.check();
    await Promise.all([first, second]);
    expect(vi.getTimerCount()).toBe(0);
    expect(readiness.size).toBe(0);
  });

  it("a rejection clears its timer too; a wait that times out leaves nothing behind", async () => {
    const refused = readiness.wait({ timeoutMs: 60_000 }).catch((e) => e);
    const timedOut = readiness.wait({ timeoutMs: 100 }).catch((e) => e);
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
  });

  it("Infinity, and waits past setTimeout's range, set no timer and do not time out", async () => {
    let settled = false;
    for (const timeoutMs of [Number.POSITIVE_INFINITY, 2 ** 40]) {
      readiness.wait({ timeoutMs }).then(
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
