import { setImmediate as tick } from "node:timers/promises";
import { take } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, SSEFieldError } from "../index.js";
import { FakeEngine, FakePlane } from "../testing/fake-backplane.js";

function pair(historySize = 100): {
  engine: FakeEngine;
  planes: FakePlane[];
  brokers: EventBroker[];
} {
  const engine = new FakeEngine();
  const planes = [new FakePlane(engine), new FakePlane(engine)];
  const brokers = planes.map((backplane) => new EventBroker({ historySize, backplane }));
  return { engine, planes, brokers };
}

describe("EventBroker with a backplane", () => {
  it("delivers every publish, from either broker, to both in one order", async () => {
    const { brokers } = pair();
    const [a, b] = brokers as [EventBroker, EventBroker];
    const ca = a.subscribe(["x", "y"]);
    const cb = b.subscribe(["y", "x"]);
    for (let i = 0; i < 20; i++) (i % 2 ? a : b).publish(i % 3 ? "x" : "y", { data: String(i) });
    const [ea, eb] = await Promise.all([take(ca, 20), take(cb, 20)]);
    expect(ea.map((e) => e.data)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(eb).toEqual(ea);
    expect(ea[0]).toEqual({ type: "y", data: "0", id: "e-1" });
    expect(a.stats()).toMatchObject({ published: 10, delivered: 20, clients: 1, topics: 2 });
    expect(a.stats().backplane).toMatchObject({ state: "ready", received: 20, topics: 2 });
  });

  it("publish returns the local clients of the topic, delivers later, and throws for an invalid event before the backplane sees it", async () => {
    const { planes, brokers } = pair();
    const a = brokers[0]!;
    const client = a.subscribe("x");
    a.subscribe("x");
    expect(a.publish("x", { data: "1" })).toBe(2);
    expect(a.publish("nobody", { data: "1" })).toBe(0);
    expect(a.stats().delivered).toBe(0);
    expect(() => a.publish("x", { id: "a\nb" })).toThrow(SSEFieldError);
    expect(planes[0]!.calls.filter((c) => c.startsWith("publish"))).toEqual([
      "publish x",
      "publish nobody",
    ]);
    expect((await take(client, 1))[0]?.data).toBe("1");
  });

  it("watches a topic while it has a local client, and closes the backplane with the broker", () => {
    const { planes, brokers } = pair();
    const a = brokers[0]!;
    const c1 = a.subscribe(["x", "y"]);
    const c2 = a.subscribe("x");
    a.unsubscribe(c1);
    a.unsubscribe(c2);
    a.subscribe("z");
    a.close();
    expect(planes[0]!.calls).toEqual([
      "watch x",
      "watch y",
      "unwatch y",
      "unwatch x",
      "watch z",
      "close",
    ]);
  });

  it("resumes on another broker from the backplane's history: no gap, no duplicate at the seam", async () => {
    const { planes, brokers } = pair();
    const [a, b] = brokers as [EventBroker, EventBroker];
    const first = a.subscribe(["x", "y"]);
    for (let i = 0; i < 5; i++) a.publish(i % 2 ? "x" : "y", { data: String(i) });
    const seen = await take(first, 5);
    a.unsubscribe(first);
    // b's watcher keeps the topics live on b, so live events reach b while the replay is pending.
    const watcher = b.subscribe(["x", "y"]);
    let open!: () => void;
    planes[1]!.gate = new Promise((resolve) => {
      open = resolve;
    });
    const back = b.subscribe(["x", "y"], { lastEventId: seen[1]!.id! });
    for (let i = 5; i < 10; i++) b.publish(i % 2 ? "x" : "y", { data: String(i) });
    await take(watcher, 5);
    open();
    const events = await take(back, 8);
    expect(events.map((e) => e.data)).toEqual(["2", "3", "4", "5", "6", "7", "8", "9"]);
    b.publish("x", { data: "10" });
    expect((await take(back, 1))[0]?.data).toBe("10");
    expect(b.stats()).toMatchObject({ resumed: 1, resumeMisses: 0, dropped: 0 });
  });

  it("an id the backplane does not know replays nothing: counted, signalled, then live events", async () => {
    const engine = new FakeEngine();
    const broker = new EventBroker({
      historySize: 10,
      resumeMissEvent: "resync",
      backplane: new FakePlane(engine),
    });
    const client = broker.subscribe("x", { lastEventId: "someone-else" });
    broker.publish("x", { data: "live" });
    const events = await take(client, 2);
    expect(events.map((e) => e.type)).toEqual(["resync", "x"]);
    expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 1 });
  });

  it("without history, ignores Last-Event-ID and assigns no id", async () => {
    const { planes, brokers } = pair(0);
    const client = brokers[0]!.subscribe("x", { lastEventId: "e-1" });
    brokers[1]!.publish("x", { data: "1" });
    expect(await take(client, 1)).toEqual([{ type: "x", data: "1" }]);
    expect(planes[0]!.calls.some((c) => c.startsWith("replay"))).toBe(false);
  });

  it("while the backplane is down, publish delivers on this broker at once, without an id", () => {
    const { engine, brokers } = pair();
    engine.up = false;
    const client = brokers[0]!.subscribe("x");
    expect(brokers[0]!.publish("x", { data: "1" })).toBe(1);
    expect(brokers[0]!.stats()).toMatchObject({ delivered: 1, backplane: { localOnly: 1 } });
    expect(client.closed).toBe(false);
    return expect(take(client, 1)).resolves.toEqual([{ type: "x", data: "1" }]);
  });

  it("a resuming client that does not read what arrives after its replay loses the excess, counted", async () => {
    const engine = new FakeEngine();
    const broker = new EventBroker({
      bufferSize: 2,
      historySize: 3,
      backplane: new FakePlane(engine),
    });
    const watcher = broker.subscribe("x");
    broker.publish("x", { data: "0" });
    broker.publish("x", { data: "1" });
    await take(watcher, 2);
    const client = broker.subscribe("x", { lastEventId: "e-0" });
    for (let i = 0; i < 5; i++) await tick();
    for (let i = 2; i < 8; i++) broker.publish("x", { data: String(i) });
    await take(watcher, 6);
    // Room for max(bufferSize, historySize) = 3 live events after the 2 replayed.
    expect((await take(client, 5)).map((e) => e.data)).toEqual(["0", "1", "2", "3", "4"]);
    expect(client.dropped).toBe(3);
    expect(broker.stats().dropped).toBe(3);
  });
  it("under the disconnect policy, a resuming client that falls behind is ended, counted", async () => {
    const engine = new FakeEngine();
    const broker = new EventBroker({
      bufferSize: 1,
      historySize: 1,
      slowClient: "disconnect",
      backplane: new FakePlane(engine),
    });
    const watcher = broker.subscribe("x");
    const client = broker.subscribe("x", { lastEventId: "e-0" });
    for (let i = 0; i < 5; i++) await tick();
    for (let i = 0; i < 3; i++) broker.publish("x", { data: String(i) });
    await take(watcher, 3);
    await client.done;
    expect(broker.stats()).toMatchObject({ slowDisconnects: 1, clients: 1 });
  });

  it("a replay that fails is a miss; one that arrives after the client left is ignored", async () => {
    const engine = new FakeEngine();
    const plane = new FakePlane(engine);
    const broker = new EventBroker({ historySize: 5, backplane: plane });
    plane.replay = () => Promise.reject(new Error("engine gone"));
    const failed = broker.subscribe("x", { lastEventId: "e-1" });
    await tick();
    await tick();
    expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 1 });
    broker.unsubscribe(failed);
    let open!: () => void;
    plane.gate = new Promise((resolve) => {
      open = resolve;
    });
    plane.replay = FakePlane.prototype.replay;
    const gone = broker.subscribe("x", { lastEventId: "e-0" });
    broker.unsubscribe(gone);
    open();
    await tick();
    await tick();
    expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 1, clients: 0 });
  });

  it("tells the backplane when a resuming client leaves, so that it can skip the read", async () => {
    const engine = new FakeEngine();
    const plane = new FakePlane(engine);
    const broker = new EventBroker({ historySize: 5, backplane: plane });
    const signals: (AbortSignal | undefined)[] = [];
    plane.replay = (topics, lastEventId, signal) => {
      signals.push(signal);
      return FakePlane.prototype.replay.call(plane, topics, lastEventId);
    };
    const leaving = broker.subscribe("x", { lastEventId: "e-0" });
    const staying = broker.subscribe("x", { lastEventId: "e-0" });
    expect(signals).toHaveLength(2);
    expect(signals.map((signal) => signal?.aborted)).toEqual([false, false]);
    broker.unsubscribe(leaving);
    await leaving.done;
    expect(signals.map((signal) => signal?.aborted)).toEqual([true, false]);
    broker.close();
    await staying.done;
    expect(signals[1]?.aborted).toBe(true);
  });

  it("frames a replayed event once for all the resumes a shared read answered with it", async () => {
    /** Resumes of `n` clients answered with the same event objects; how often the event was read. */
    const framings = async (n: number) => {
      const plane = new FakePlane(new FakeEngine());
      const broker = new EventBroker({ historySize: 5, backplane: plane });
      let reads = 0;
      const event = {
        type: "x",
        get data() {
          reads++;
          return "shared";
        },
      };
      const answer = { after: 0, events: [{ topic: "x", event, seq: 1 }] };
      plane.replay = async () => answer;
      const clients = Array.from({ length: n }, () =>
        broker.subscribe("x", { lastEventId: "e-0" }),
      );
      const got = await Promise.all(clients.map((client) => take(client, 1)));
      const counted = reads;
      expect(got.map((events) => events[0]?.data)).toEqual(Array(n).fill("shared"));
      broker.close();
      return counted;
    };
    const one = await framings(1);
    expect(one).toBeGreaterThan(0);
    expect(await framings(3)).toBe(one);
  });

  it("skips an event from the backplane that cannot be encoded, live or replayed", async () => {
    const engine = new FakeEngine();
    const plane = new FakePlane(engine);
    const broker = new EventBroker({ historySize: 5, backplane: plane });
    engine.log.push({ topic: "x", event: { type: "x", id: "bad\nid" }, seq: 1 });
    engine.log.push({ topic: "x", event: { type: "x", data: "good" }, seq: 2 });
    const client = broker.subscribe("x", { lastEventId: "e-0" });
    expect(() => plane.host!.deliver("x", { type: "x", retry: -1 }, 3)).toThrow(SSEFieldError);
    expect((await take(client, 1)).map((e) => e.data)).toEqual(["good"]);
    broker.close();
    plane.host!.deliver("x", { data: "after close" }, 4);
    expect(broker.stats().delivered).toBe(0);
  });
});
