// ReplayQueue: at most `max` turns at once, the rest in arrival order; an
// aborted signal leaves the line; flush sends the line away.
import { describe, expect, it } from "vitest";
import { ReplayQueue } from "./replay-queue.js";

describe("ReplayQueue", () => {
  it("grants at most max turns at once, the next in arrival order as one ends", async () => {
    const queue = new ReplayQueue(1);
    const first = await queue.turn();
    expect(first).toBeTypeOf("function");
    const order: string[] = [];
    const second = queue.turn().then((release) => {
      order.push("second");
      return release;
    });
    const third = queue.turn().then((release) => {
      order.push("third");
      return release;
    });
    expect(queue.size).toBe(3);
    first!();
    first!(); // a second call ends nothing more
    const release = await second;
    expect(order).toEqual(["second"]);
    expect(queue.size).toBe(2);
    release!();
    (await third)!();
    expect(order).toEqual(["second", "third"]);
    expect(queue.size).toBe(0);
  });

  it("a waiter whose signal aborts leaves the line at once; an aborted signal gets no turn", async () => {
    const queue = new ReplayQueue(1);
    const first = await queue.turn();
    const controller = new AbortController();
    const waiting = queue.turn(controller.signal);
    expect(queue.size).toBe(2);
    controller.abort();
    expect(await waiting).toBeUndefined();
    expect(queue.size).toBe(1);
    expect(await queue.turn(controller.signal)).toBeUndefined();
    first!();
    expect(queue.size).toBe(0);
  });

  it("flush sends every waiter away; the turns running keep theirs", async () => {
    const queue = new ReplayQueue(1);
    const first = await queue.turn();
    const waiting = [queue.turn(), queue.turn()];
    queue.flush();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    expect(queue.size).toBe(1);
    first!();
    expect(queue.size).toBe(0);
  });
});
