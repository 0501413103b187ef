// OrderedDelivery alone, with fake steps: each seq once and in order, and
// the catch-up after a cut (the head as the first start, what was missed
// first, then the live events held meanwhile; a gap counted; unsynced, the
// held events are left to the next catch-up).
import { describe, expect, it } from "vitest";
import type { SSEEvent } from "../wire/encode.js";
import type { OrderedEvent } from "./backplane-kit.js";
import { type CatchUpSteps, type MissedEvent, OrderedDelivery } from "./ordered-delivery.js";

const live = (seq: number, data: string, epoch = "e"): OrderedEvent => ({
  topic: "x",
  seq,
  epoch,
  event: { data } as SSEEvent,
  delivered: false,
});
const missed = (seq: number, data: string, origin = "other:1"): MissedEvent => ({
  topic: "x",
  seq,
  event: { data },
  origin,
});

function setUp(own: readonly string[] = []) {
  const delivered: string[] = [];
  const delivery = new OrderedDelivery({
    deliver: (topic, event, seq) => delivered.push(`${topic}:${event.data}@${seq}`),
    echo: (origin) => own.includes(origin),
    lost: (topics) => log.push(`lost ${topics.join(",")}`),
  });
  const log: string[] = [];
  let up = true;
  let release: (events: MissedEvent[] | undefined) => void = () => {};
  const asked: [readonly string[], string, number][] = [];
  const steps: CatchUpSteps = {
    subscribe: async () => (up ? ["x"] : undefined),
    read: (topics, epoch, after) => {
      asked.push([topics, epoch, after]);
      return new Promise((resolve) => {
        release = resolve;
      });
    },
    up: () => up,
    synced: () => log.push("synced"),
    gap: () => log.push("gap"),
  };
  const settle = (events: MissedEvent[] | undefined) => release(events);
  const drop = () => {
    up = false;
  };
  return { delivery, delivered, log, steps, asked, settle, drop };
}

/** Lets the catch-up's awaits run. */
const turns = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("OrderedDelivery", () => {
  it("delivers each seq once, in order, counted; a new epoch starts over; an own event only advances", () => {
    const { delivery, delivered } = setUp();
    for (const m of [live(1, "a"), live(2, "b"), live(2, "b"), live(1, "a")]) delivery.receive(m);
    delivery.receive({ ...live(3, "mine"), delivered: true });
    delivery.receive(live(1, "c", "f"));
    expect(delivered).toEqual(["x:a@1", "x:b@2", "x:c@1"]);
    expect([delivery.received, delivery.epoch]).toEqual([3, "f"]);
  });

  it("catches up: what was missed first (own ones not again), then the live events held meanwhile", async () => {
    const { delivery, delivered, log, steps, asked, settle } = setUp(["me:7"]);
    delivery.receive(live(1, "a"));
    const done = delivery.catchUp(steps);
    expect(delivery.catchingUp).toBe(true);
    await turns();
    expect(asked).toEqual([[["x"], "e", 1]]);
    delivery.receive(live(3, "c"));
    delivery.receive(live(5, "e"));
    settle([missed(2, "b"), missed(3, "c"), missed(4, "own", "me:7")]);
    await done;
    expect(delivered).toEqual(["x:a@1", "x:b@2", "x:c@3", "x:e@5"]);
    expect([delivery.recovered, delivery.catchingUp, log]).toEqual([2, false, ["synced"]]);
  });

  it("starts the order at the head on a first catch-up, and counts a gap, telling which topics lost events", async () => {
    const { delivery, delivered, log, steps, asked, settle } = setUp();
    const done = delivery.catchUp({ ...steps, head: async () => ({ epoch: "h", seq: 40 }) });
    await turns();
    expect(asked).toEqual([[["x"], "h", 40]]);
    delivery.receive(live(42, "live", "h"));
    settle(undefined);
    await done;
    expect(delivered).toEqual(["x:live@42"]);
    expect([delivery.gaps, log]).toEqual([1, ["gap", "lost x", "synced"]]);
  });

  it("leaves the held events to the next catch-up when the connection drops during this one", async () => {
    const { delivery, delivered, log, steps, settle, drop } = setUp();
    delivery.receive(live(1, "a"));
    const done = delivery.catchUp(steps);
    await turns();
    delivery.receive(live(3, "held"));
    drop();
    settle([missed(2, "b")]);
    await done;
    expect(delivered).toEqual(["x:a@1", "x:b@2"]);
    expect(log).toEqual([]);
    // Nothing subscribed: nothing read, not synced.
    await delivery.catchUp(steps);
    expect(log).toEqual([]);
  });

  it("reads nothing before the order has a start; a failing step rejects, delivering nothing held", async () => {
    const { delivery, delivered, log, steps, asked } = setUp();
    await delivery.catchUp(steps);
    expect([asked, log]).toEqual([[], ["synced"]]);
    const failing = delivery.catchUp({
      ...steps,
      subscribe: async () => {
        delivery.receive(live(1, "held"));
        throw new Error("refused");
      },
    });
    await expect(failing).rejects.toThrow("refused");
    expect([delivered, delivery.catchingUp]).toEqual([[], false]);
    delivery.close();
    delivery.receive(live(2, "late"));
    expect(delivered).toEqual([]);
  });

  it("a gap marker from another process advances the order, counts a gap and tells lost of its topic once; an own one, or one already passed, does nothing", async () => {
    const { delivery, delivered, log, steps, settle } = setUp();
    const marker = (seq: number, own = false): OrderedEvent => ({
      ...live(seq, ""),
      event: {},
      delivered: own,
      gap: true,
    });
    delivery.receive(live(1, "a"));
    delivery.receive(marker(2));
    delivery.receive(marker(2));
    delivery.receive(marker(3, true));
    delivery.receive(live(3, "stale"));
    delivery.receive(live(4, "b"));
    expect(delivered).toEqual(["x:a@1", "x:b@4"]);
    expect(log).toEqual(["lost x"]);
    expect([delivery.gaps, delivery.received]).toEqual([1, 2]);
    // Held during a catch-up, like an event, and told after it.
    const catchUp = delivery.catchUp(steps);
    delivery.receive(marker(6));
    await turns();
    settle([]);
    await catchUp;
    expect(log).toEqual(["lost x", "synced", "lost x"]);
    expect(delivery.gaps).toBe(2);
  });
});
