// The Publisher alone, against a fake command connection whose answers the
// test settles: maxPending, a lost answer delivered once, round trips, and
// the publishes of one tick sent in one script call.

import type { SSEEvent } from "@burrow/sse-core";
import { formatOrigin } from "@burrow/sse-core/adapter";
import { describe, expect, it } from "vitest";
import { Publisher, type PublishTarget } from "./publisher.js";
import type { ScriptedRedis } from "./scripts.js";

interface Sent {
  topic: string;
  origin: string;
  answer(): void;
  fail(error: Error): void;
}

function setUp(maxPending = 10) {
  const calls: number[] = [];
  const sent: Sent[] = [];
  const here: [string, SSEEvent][] = [];
  const failures: Error[] = [];
  const roundTrips: number[] = [];
  const logs: string[] = [];
  const command = {
    // One call per run of a topic's events: each event's JSON and origin after 8 arguments.
    ssePublish: (...args: unknown[]) =>
      new Promise((resolve, reject) => {
        calls.push((args.length - 8) / 2);
        for (let i = 8; i < args.length; i += 2) {
          sent.push({
            topic: args[4] as string,
            origin: args[i + 1] as string,
            answer: () => resolve(1),
            fail: reject,
          });
        }
      }),
  } as unknown as ScriptedRedis;
  const publisher = new Publisher(
    {
      maxPending,
      checkMs: 60_000,
      logger: { error: (m) => logs.push(m), info: (m) => logs.push(m) },
      safeUrl: "redis://127.0.0.1:1",
    },
    {
      deliverHere: (topic, event) => here.push([topic, event]),
      failed: (error) => failures.push(error),
      roundTrip: (seconds) => roundTrips.push(seconds),
    },
  );
  const target = (echoed = true): PublishTarget => ({
    command,
    prefix: "p:",
    historySize: 10,
    echoed,
  });
  /** Sends `data` on `topic` in a tick of its own (one call each). */
  const send = async (data: string, topic = "x", echoed = true) => {
    publisher.send(target(echoed), topic, { data });
    await Promise.resolve();
  };
  return { publisher, sent, calls, here, failures, roundTrips, logs, target, send };
}

/** Lets promise callbacks run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("Publisher", () => {
  it("while Redis answers, a burst waits up to ten times maxPending; past it delivers here, counts, and logs once per ready spell", async () => {
    const { publisher, sent, here, logs, target } = setUp(2);
    for (let i = 0; i < 25; i++) publisher.send(target(), "x", { data: String(i) });
    expect(here.map(([, event]) => event.data)).toEqual(["20", "21", "22", "23", "24"]);
    expect([publisher.pending, publisher.overflow, publisher.published]).toEqual([20, 5, 20]);
    expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(1);
    await settled();
    expect(sent).toHaveLength(20);
    sent[0]!.answer();
    await settled();
    expect(publisher.pending).toBe(0);
    publisher.send(target(), "x", { data: "next" });
    expect(publisher.overflow).toBe(5);
    for (let i = 0; i < 20; i++) publisher.send(target(), "x", { data: String(i) });
    expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(1);
    publisher.ready(target());
    publisher.send(target(), "x", { data: "again" });
    expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(2);
  });

  it("sends the publishes of one tick in one call per run of a topic, in order", async () => {
    const { sent, calls, target, publisher } = setUp(1000);
    for (const topic of ["x", "x", "y", "x", "x", "x"])
      publisher.send(target(), topic, { data: topic });
    await settled();
    expect(calls).toEqual([2, 1, 3]);
    expect(sent.map((s) => s.topic)).toEqual(["x", "x", "y", "x", "x", "x"]);
    expect(sent.map((s) => Number(s.origin.split(":")[1]))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("once Redis answers after an overflow, sends one gap marker per topic that overflowed; an own marker needs no repair", async () => {
    const { publisher, sent, calls, target } = setUp(1);
    for (let i = 0; i < 12; i++) publisher.send(target(), i < 11 ? "x" : "y", { data: "e" });
    expect(publisher.overflow).toBe(2);
    await settled();
    expect(calls).toEqual([10]);
    sent[0]!.answer();
    await settled();
    // The markers: an empty JSON each, after the events answered.
    expect(calls).toEqual([10, 1, 1]);
    expect(sent.slice(10).map((s) => s.topic)).toEqual(["x", "y"]);
    const marker = { seq: 1, epoch: "e", origin: sent[10]!.origin, event: {}, gap: true };
    expect(publisher.delivered(marker)).toBe(true);
    expect(publisher.delivered({ ...marker, origin: "another:0" })).toBe(false);
  });

  it("delivers a publish whose answer is lost here, once: its late echo is only acknowledged", async () => {
    const { publisher, sent, here, failures, send } = setUp();
    await send("lost");
    await send("answered");
    sent[0]!.fail(new Error("connection lost"));
    sent[1]!.answer();
    await settled();
    expect(here).toEqual([["x", { data: "lost" }]]);
    expect(failures.map((e) => e.message)).toEqual(["connection lost"]);
    expect([publisher.localOnly, publisher.pending]).toEqual([1, 0]);
    // Redis ran it after all: its echo comes, and is not to be delivered again.
    expect(publisher.echo(sent[0]!.origin)).toBe(true);
    expect(publisher.echo(sent[0]!.origin)).toBe(false);
    expect(publisher.echo(sent[1]!.origin)).toBe(false);
  });

  it("a lost publish that Redis ran after a newer one (a stopped server reading an old socket) is not delivered twice", async () => {
    const { publisher, sent, here, send } = setUp();
    await send("lost");
    await send("newer");
    sent[0]!.fail(new Error("timeout"));
    sent[1]!.answer();
    await settled();
    expect(here).toEqual([["x", { data: "lost" }]]);
    // The newer one's echo comes first...
    expect(publisher.echo(sent[1]!.origin)).toBe(false);
    // ...then the old one's: already delivered here.
    expect(publisher.echo(sent[0]!.origin)).toBe(true);
  });

  it("ignores the failure of a publish whose echo came first (Redis ran it)", async () => {
    const { publisher, sent, here, failures, send } = setUp();
    await send("a");
    expect(publisher.echo(sent[0]!.origin)).toBe(false);
    sent[0]!.fail(new Error("late"));
    await settled();
    expect([here, failures]).toEqual([[], []]);
  });

  it("reports one round trip per own publish that comes back, none for others", async () => {
    const { publisher, sent, roundTrips, send } = setUp();
    await send("1");
    await send("2", "unwatched", false);
    await send("3");
    await send("4");
    expect(publisher.echo(formatOrigin("another", 1))).toBe(false);
    expect(roundTrips).toEqual([]);
    publisher.echo(sent[0]!.origin);
    // A second copy (recovered from the streams after a cut) is not a second round trip.
    publisher.echo(sent[0]!.origin);
    publisher.echo(sent[2]!.origin);
    expect(roundTrips).toHaveLength(2);
    // Failed: delivered here, so no round trip even if Redis ran it.
    sent[3]!.fail(new Error("lost"));
    await settled();
    publisher.echo(sent[3]!.origin);
    expect(roundTrips).toHaveLength(2);
    for (const seconds of roundTrips) expect(seconds).toBeGreaterThanOrEqual(0);
  });

  it("forgets what it waited for when a later publish of its own comes back (the earlier never will)", async () => {
    const { publisher, sent, roundTrips, target } = setUp();
    publisher.send(target(), "x", { data: "1" });
    publisher.send(target(), "x", { data: "2" });
    await settled();
    publisher.echo(sent[1]!.origin);
    publisher.echo(sent[0]!.origin);
    expect(roundTrips).toHaveLength(1);
  });

  it("times at most 10 000 publishes awaiting their echo: older ones are forgotten", async () => {
    const { publisher, sent, roundTrips, target } = setUp(20_000);
    for (let i = 0; i <= 10_000; i++) publisher.send(target(), "x", { data: String(i) });
    await settled();
    publisher.echo(sent[0]!.origin);
    expect(roundTrips).toHaveLength(0);
    publisher.echo(sent[1]!.origin);
    publisher.echo(sent[10_000]!.origin);
    expect(roundTrips).toHaveLength(2);
  });

  it("after close, settles nothing: a failed publish is neither delivered nor reported", async () => {
    const { publisher, sent, here, failures, send } = setUp();
    await send("1");
    publisher.close();
    sent[0]!.fail(new Error("closed"));
    await settled();
    expect([here, failures]).toEqual([[], []]);
  });
});
