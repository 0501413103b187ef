// The Recovery alone, with a fake link and subscriptions: delivery in the
// global order (each seq once, a new epoch starts over) and the catch-up
// after a cut (missed events first, then the live ones held meanwhile).

import type { SSEEvent } from "@burrow/sse-core";
import { waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import type { StoredEvent } from "./history-reader.js";
import type { Link } from "./link.js";
import { type Message, type ReadMissed, Recovery } from "./recovery.js";
import type { Subscriptions } from "./subscriptions.js";

function setUp(ownDelivered: readonly string[] = []) {
  const delivered: string[] = [];
  const lost: string[][] = [];
  const errors: string[] = [];
  const recovery = new Recovery(
    { logger: { error: (m) => errors.push(m), info: () => {} }, safeUrl: "redis://x" },
    {
      deliver: (topic, event, seq) => delivered.push(`${topic}:${event.data}@${seq}`),
      echo: (origin) => ownDelivered.includes(origin),
      lost: (topics) => lost.push([...topics]),
    },
  );
  const link = { subscriberUp: true, synced: false, updates: 0, failures: [] as Error[] };
  const fakeLink = Object.assign(link, {
    fail: (error: Error) => link.failures.push(error),
    update: () => link.updates++,
  });
  const subscribed: string[][] = [];
  const subscriptions = {
    topics: () => ["x"],
    subscribe: async (topics: readonly string[]) => subscribed.push([...topics]),
  };
  const catchUp = (read: ReadMissed) =>
    recovery.catchUp(fakeLink as unknown as Link, subscriptions as unknown as Subscriptions, read);
  return { recovery, delivered, errors, lost, link: fakeLink, subscribed, catchUp };
}

const message = (seq: number, data: string, epoch = "e", delivered = false): Message => ({
  topic: "x",
  seq,
  epoch,
  event: { data } as SSEEvent,
  delivered,
});

const stored = (seq: number, data: string, origin = "other:1"): StoredEvent => ({
  topic: "x",
  seq,
  event: { data },
  origin,
});

/** A read the test settles, recording what it was asked. */
function pendingRead() {
  const asked: [readonly string[], string, number][] = [];
  let settle: (events: StoredEvent[] | undefined) => void = () => {};
  const read: ReadMissed = (topics, epoch, after) => {
    asked.push([topics, epoch, after]);
    return new Promise((resolve) => {
      settle = resolve;
    });
  };
  return { read, asked, settle: (events: StoredEvent[] | undefined) => settle(events) };
}

describe("Recovery", () => {
  it("delivers each seq once, in order; a new epoch (Redis lost its data) starts over", () => {
    const { recovery, delivered } = setUp();
    for (const m of [message(1, "a"), message(2, "b"), message(2, "b"), message(1, "a")]) {
      recovery.receive(m);
    }
    recovery.receive(message(1, "c", "f"));
    expect(delivered).toEqual(["x:a@1", "x:b@2", "x:c@1"]);
    expect(recovery.received).toBe(3);
  });

  it("advances past an own event already delivered here without delivering it again", () => {
    const { recovery, delivered } = setUp();
    recovery.receive(message(1, "mine", "e", true));
    recovery.receive(message(1, "mine", "e", false));
    recovery.receive(message(2, "next"));
    expect(delivered).toEqual(["x:next@2"]);
  });

  it("after a cut: subscribes, delivers what was missed, then the live messages held meanwhile, each once", async () => {
    const { recovery, delivered, link, subscribed, catchUp } = setUp(["me:7"]);
    recovery.receive(message(1, "a"));
    const { read, asked, settle } = pendingRead();
    catchUp(read);
    expect(recovery.running).toBe(true);
    await waitFor(() => asked.length === 1, "the read of what was missed");
    expect(subscribed).toEqual([["x"]]);
    expect(asked).toEqual([[["x"], "e", 1]]);
    // Live while reading: held.
    recovery.receive(message(3, "c"));
    recovery.receive(message(4, "d"));
    expect(delivered).toEqual(["x:a@1"]);
    settle([stored(2, "b"), stored(3, "c"), stored(4, "own", "me:7")]);
    await waitFor(() => !recovery.running, "the catch-up to end");
    expect(delivered).toEqual(["x:a@1", "x:b@2", "x:c@3"]);
    // Read back from the streams, published by another process: b and c; d's seq was own.
    expect([recovery.recovered, link.synced, link.updates]).toEqual([2, true, 1]);
    recovery.receive(message(5, "e"));
    expect(delivered.at(-1)).toBe("x:e@5");
  });

  it("logs a gap once when what was missed cannot be read, tells which topics lost events, and goes on live", async () => {
    const { recovery, delivered, errors, lost, link, catchUp } = setUp();
    recovery.receive(message(1, "a"));
    const { read, settle } = pendingRead();
    catchUp(read);
    await waitFor(() => recovery.running, "the catch-up to start");
    recovery.receive(message(9, "live"));
    settle(undefined);
    await waitFor(() => !recovery.running, "the catch-up to end");
    expect(delivered).toEqual(["x:a@1", "x:live@9"]);
    expect([recovery.gaps, errors.length, link.synced]).toEqual([1, 1, true]);
    expect(lost).toEqual([["x"]]);
    expect(errors[0]).toContain("could not be recovered");
  });

  it("leaves the held messages to the next catch-up when the subscriber drops during this one", async () => {
    const { recovery, delivered, link, catchUp } = setUp();
    recovery.receive(message(1, "a"));
    const { read, asked, settle } = pendingRead();
    catchUp(read);
    await waitFor(() => asked.length === 1, "the read");
    recovery.receive(message(3, "held"));
    link.subscriberUp = false;
    settle([stored(2, "b")]);
    await waitFor(() => !recovery.running, "the catch-up to end");
    expect(delivered).toEqual(["x:a@1", "x:b@2"]);
    expect([link.synced, link.updates]).toEqual([false, 1]);
  });

  it("reads nothing on a first connection (nothing delivered yet), and nothing after close", async () => {
    const { recovery, delivered, link, catchUp } = setUp();
    const { read, asked } = pendingRead();
    catchUp(read);
    await waitFor(() => !recovery.running, "the catch-up to end");
    expect([asked, link.synced]).toEqual([[], true]);
    recovery.close();
    recovery.receive(message(1, "late"));
    expect(delivered).toEqual([]);
  });
});
