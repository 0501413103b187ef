// SharedBarrier: waits before it is sent share one barrier; a wait after it
// was sent gets a new one; a failed barrier answers false; a wait whose
// signal aborts answers false at once, the others still get the answer.
import { describe, expect, it } from "vitest";
import { SharedBarrier } from "./shared-barrier.js";

describe("SharedBarrier", () => {
  it("sends one barrier for the waits of one turn, and a new one for a wait after it was sent", async () => {
    const answers: ((answered: boolean) => void)[] = [];
    const barrier = new SharedBarrier(() => new Promise((resolve) => answers.push(resolve)));
    const first = [barrier.wait(), barrier.wait(), barrier.wait()];
    expect(barrier.sent).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(barrier.sent).toBe(1);
    // Sent already: this wait must not take an answer to a barrier sent before it.
    const later = barrier.wait();
    answers[0]!(true);
    expect(await Promise.all(first)).toEqual([true, true, true]);
    let settled = false;
    void later.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(barrier.sent).toBe(2);
    answers[1]!(false);
    expect(await later).toBe(false);
  });

  it("answers false when sending the barrier rejects, or throws (no connection)", async () => {
    const rejecting = new SharedBarrier(() => Promise.reject(new Error("down")));
    expect(await rejecting.wait()).toBe(false);
    const throwing = new SharedBarrier(() => {
      throw new TypeError("no subscriber");
    });
    expect(await throwing.wait()).toBe(false);
  });

  it("a wait whose signal aborts answers false at once; the others sharing its barrier get its answer", async () => {
    const answers: ((answered: boolean) => void)[] = [];
    const barrier = new SharedBarrier(() => new Promise((resolve) => answers.push(resolve)));
    const left = new AbortController();
    const stays = barrier.wait();
    const leaves = barrier.wait(left.signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(barrier.sent).toBe(1);
    left.abort();
    expect(await leaves).toBe(false);
    answers[0]!(true);
    expect(await stays).toBe(true);
    // Gone before it waits: nothing is sent for it.
    expect(await barrier.wait(left.signal)).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(barrier.sent).toBe(1);
  });
});
