// The Publisher alone, against a fake command connection whose answers the
// test settles: maxPending, a lost answer delivered once, and round trips.

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
  const sent: Sent[] = [];
  const here: [string, SSEEvent][] = [];
  const failures: Error[] = [];
  const roundTrips: number[] = [];
  const logs: string[] = [];
  const command = {
    ssePublish: (...args: unknown[]) =>
      new Promise((resolve, reject) => {
        sent.push({
          topic: args[4] as string,
          origin: args[8] as string,
          answer: () => resolve(1),
          fail: reject,
        });
      }),
  } as unknown as ScriptedRedis;
  const publisher = new Publisher(
    {
      maxPending,
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
  return { publisher, sent, here, failures, roundTrips, logs, target };
}

/** Lets promise callbacks run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("Publisher", () => {
  it("sends at most maxPending unanswered; past it delivers here, counts, and logs once per ready spell", async () => {
    const { publisher, sent, here, logs, target } = setUp(2);
    for (let i = 0; i < 5; i++) publisher.send(target(), "x", { data: String(i) });
    expect(sent).toHaveLength(2);
    expect(here.map(([, event]) => event.data)).toEqual(["2", "3", "4"]);
    expect([publisher.pending, publisher.overflow, publisher.published]).toEqual([2, 3, 2]);
    expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(1);
    sent[0]!.answer();
    await settled();
    expect(publisher.pending).toBe(1);
    publisher.send(target(), "x", { data: "5" });
    expect(sent).toHaveLength(3);
    publisher.send(target(), "x", { data: "6" });
    expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(1);
    publisher.ready();
    publisher.send(target(), "x", { data: "7" });
    expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(2);
  });

  it("delivers a publish whose answer is lost here, once: its late echo is only acknowledged", async () => {
    const { publisher, sent, here, failures, target } = setUp();
    publisher.send(target(), "x", { data: "lost" });
    publisher.send(target(), "x", { data: "answered" });
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
    const { publisher, sent, here, target } = setUp();
    publisher.send(target(), "x", { data: "lost" });
    publisher.send(target(), "x", { data: "newer" });
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
    const { publisher, sent, here, failures, target } = setUp();
    publisher.send(target(), "x", { data: "a" });
    expect(publisher.echo(sent[0]!.origin)).toBe(false);
    sent[0]!.fail(new Error("late"));
    await settled();
    expect([here, failures]).toEqual([[], []]);
  });

  it("reports one round trip per own publish that comes back, none for others", async () => {
    const { publisher, sent, roundTrips, target } = setUp();
    publisher.send(target(), "x", { data: "1" });
    publisher.send(target(false), "unwatched", { data: "2" });
    publisher.send(target(), "x", { data: "3" });
    publisher.send(target(), "x", { data: "4" });
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

  it("forgets what it waited for when a later publish of its own comes back (the earlier never will)", () => {
    const { publisher, sent, roundTrips, target } = setUp();
    publisher.send(target(), "x", { data: "1" });
    publisher.send(target(), "x", { data: "2" });
    publisher.echo(sent[1]!.origin);
    publisher.echo(sent[0]!.origin);
    expect(roundTrips).toHaveLength(1);
  });

  it("times at most 10 000 publishes awaiting their echo: older ones are forgotten", () => {
    const { publisher, sent, roundTrips, target } = setUp(20_000);
    for (let i = 0; i <= 10_000; i++) publisher.send(target(), "x", { data: String(i) });
    publisher.echo(sent[0]!.origin);
    expect(roundTrips).toHaveLength(0);
    publisher.echo(sent[1]!.origin);
    publisher.echo(sent[10_000]!.origin);
    expect(roundTrips).toHaveLength(2);
  });

  it("after close, settles nothing: a failed publish is neither delivered nor reported", async () => {
    const { publisher, sent, here, failures, target } = setUp();
    publisher.send(target(), "x", { data: "1" });
    publisher.close();
    sent[0]!.fail(new Error("closed"));
    await settled();
    expect([here, failures]).toEqual([[], []]);
  });
});
