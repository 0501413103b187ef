// A state topic's current value on every process of a backplane (issue #25):
// a process that knows none (it did not watch the topic) reads the engine's
// latest event (`Backplane.last`) when a client of it must be repaired, once
// per topic at a time; what it reads falls back to the topic's snapshot when
// it gives nothing. On the in-memory fake of Redis or PostgreSQL.
import { describe, expect, it } from "vitest";
import { type BackplaneEvent, BackplaneResumes, resumeReads } from "../adapter.js";
import { EventBroker, type TopicPolicies } from "../index.js";
import { drain, turns } from "../testing/drain.js";
import { FakeEngine, FakePlane } from "../testing/fake-backplane.js";

/** Brokers `a` and `b` on one fake engine, with `topics`; `b`'s plane counts its reads. */
function pair(topics: TopicPolicies, historySize = 10) {
  const engine = new FakeEngine(historySize);
  const planes = [new FakePlane(engine), new FakePlane(engine)] as const;
  const a = new EventBroker({ historySize, backplane: planes[0], topics });
  const b = new EventBroker({ historySize, backplane: planes[1], topics });
  const reads = () => planes[1].calls.filter((call) => call.startsWith("last ")).length;
  const close = () => {
    a.close();
    b.close();
  };
  return { engine, planes, a, b, reads, close };
}

const STATE = { status: { kind: "state" as const } };
const WITH_SNAPSHOT = {
  status: {
    kind: "state" as const,
    snapshot: () => "rendered",
    target: "#status",
    snapshotTimeoutMs: 50,
  },
};
const data = (events: { data?: string }[]) => events.map((e) => e.data);
const neverSettles = new Promise<void>(() => {});

/** A promise held until `open()` is called. */
function held(): { gate: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { gate, open };
}

describe("a state topic's current value on a process that did not watch it", () => {
  it("a client connecting on b with snapshot: true gets the value published on a, once; then live", async () => {
    const { a, b, reads, close } = pair(STATE);
    a.publish("status", { data: "one" });
    a.publish("status", { data: "two" });
    await turns();
    const page = b.subscribe("status", { snapshot: true });
    const first = await drain(page);
    expect(data(first)).toEqual(["two"]);
    expect(b.stats().snapshots).toMatchObject({ connect: 1 });
    expect(reads()).toBe(1);
    a.publish("status", { data: "three" });
    await turns();
    expect(data(await drain(page))).toEqual(["three"]);
    // b knows it now: the next client gets it at once, without a read.
    const next = b.subscribe("status", { snapshot: true });
    expect(data(await drain(next))).toEqual(["three"]);
    expect(reads()).toBe(1);
    close();
  });

  it("two clients at once share one read; the value is encoded once", async () => {
    const { a, b, reads, close } = pair(STATE);
    a.publish("status", { data: "now" });
    await turns();
    const pages = [
      b.subscribe("status", { snapshot: true }),
      b.subscribe("status", { snapshot: true }),
    ];
    const got = await Promise.all(pages.map(drain));
    expect(got.map(data)).toEqual([["now"], ["now"]]);
    expect(reads()).toBe(1);
    close();
  });

  it("a resume miss on b (an unknown id) gets the current value", async () => {
    const { a, b, close } = pair(STATE);
    a.publish("status", { data: "current" });
    await turns();
    const page = b.subscribe("status", { lastEventId: "zz-99999" });
    expect(data(await drain(page))).toEqual(["current"]);
    expect(b.stats().snapshots).toMatchObject({ miss: 1 });
    close();
  });

  it("a cut whose events the engine lost: b's client of the state topic gets the latest, not what it had", async () => {
    const { a, b, planes, close } = pair(STATE, 1);
    a.publish("other", { data: "x" });
    const page = b.subscribe("status");
    a.publish("status", { data: "s1" });
    await turns();
    expect(data(await drain(page))).toEqual(["s1"]);
    planes[1].cut();
    a.publish("status", { data: "s2" });
    a.publish("status", { data: "s3" });
    await turns();
    planes[1].restore();
    expect(data(await drain(page))).toEqual(["s3"]);
    close();
  });

  it("a read while the link is down gives nothing; once the link is back, the client is repaired with the value", async () => {
    const { a, b, planes, reads, close } = pair(STATE);
    a.publish("status", { data: "current" });
    await turns();
    planes[1].cut();
    const page = b.subscribe("status", { snapshot: true });
    expect(await drain(page)).toEqual([]);
    expect(reads()).toBe(1);
    planes[1].restore();
    expect(data(await drain(page))).toEqual(["current"]);
    // Nothing was sent on connect; the repair once the link was back is counted as a miss.
    expect(b.stats().snapshots).toMatchObject({ connect: 0, miss: 1 });
    // Once only: a later reconnect reads nothing again.
    planes[1].cut();
    planes[1].restore();
    expect(await drain(page)).toEqual([]);
    expect(reads()).toBe(2);
    close();
  });

  it("a read that hangs past snapshotTimeoutMs falls back to the topic's snapshot; the client goes on", async () => {
    const { a, b, planes, reads, close } = pair(WITH_SNAPSHOT);
    a.publish("status", { data: "unseen" });
    await turns();
    planes[1].lastGate = neverSettles;
    const page = b.subscribe("status", { snapshot: true });
    // Reading asks for the repair; the read then hangs: nothing is written meanwhile.
    expect(await drain(page)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const first = await drain(page);
    expect(reads()).toBe(1);
    expect(first).toHaveLength(1);
    expect(first[0]!.data).toContain("rendered");
    a.publish("status", { data: "live" });
    await turns();
    expect(data(await drain(page))).toEqual(["live"]);
    close();
  });

  it("a read that rejects, throws, or gives no event falls back to the snapshot, or to nothing without one", async () => {
    for (const failure of ["reject", "throw", "garbage"] as const) {
      for (const topics of [WITH_SNAPSHOT, STATE]) {
        const { a, b, planes, close } = pair(topics);
        a.publish("status", { data: "unseen" });
        await turns();
        planes[1].last = (topic) => {
          planes[1].calls.push(`last ${topic}`);
          if (failure === "throw") throw new Error("sync");
          if (failure === "garbage") return Promise.resolve(null as never);
          return Promise.reject(new Error("async"));
        };
        const page = b.subscribe("status", { snapshot: true });
        const first = await drain(page);
        expect(planes[1].calls).toContain("last status");
        if (topics === STATE) expect(first).toEqual([]);
        else expect(first.map((e) => e.data?.includes("rendered"))).toEqual([true]);
        a.publish("status", { data: "live" });
        await turns();
        expect(data(await drain(page))).toEqual(["live"]);
        close();
      }
    }
  });

  it("an event newer than the value read, arriving while it is read, wins; the older value is never sent", async () => {
    const { a, b, engine, planes, close } = pair(STATE);
    a.publish("status", { data: "old" });
    await turns();
    const stale = engine.lastOf("status");
    const read = held();
    planes[1].last = async (topic) => {
      planes[1].calls.push(`last ${topic}`);
      await read.gate;
      return stale;
    };
    const page = b.subscribe("status", { snapshot: true });
    expect(await drain(page)).toEqual([]);
    a.publish("status", { data: "newer" });
    await turns();
    read.open();
    expect(data(await drain(page))).toEqual(["newer"]);
    expect(planes[1].calls).toContain("last status");
    // b keeps "newer" as the latest, not the older value it read.
    expect(data(await drain(b.subscribe("status", { snapshot: true })))).toEqual(["newer"]);
    close();
  });

  it("the value read, delivered late as a live copy, is not sent twice", async () => {
    const { a, b, engine, planes, close } = pair(STATE);
    b.subscribe("chat");
    // The read answers before the live copy of "now" reaches b (no barrier).
    planes[1].last = async (topic): Promise<BackplaneEvent | undefined> => engine.lastOf(topic);
    a.publish("status", { data: "now" });
    const page = b.subscribe("status", { snapshot: true });
    expect(data(await drain(page))).toEqual(["now"]);
    expect(b.stats().snapshots).toMatchObject({ connect: 1 });
    a.publish("status", { data: "next" });
    await turns();
    expect(data(await drain(page))).toEqual(["next"]);
    close();
  });

  it("a value read for clients that all left meanwhile is not kept (the topic went unwatched: it would go stale)", async () => {
    const { a, b, planes, reads, close } = pair(STATE);
    a.publish("status", { data: "old" });
    await turns();
    const read = held();
    planes[1].lastGate = read.gate;
    const leaving = b.subscribe("status", { snapshot: true });
    await drain(leaving);
    b.unsubscribe(leaving);
    read.open();
    planes[1].lastGate = undefined;
    await turns();
    a.publish("status", { data: "new" });
    await turns();
    const page = b.subscribe("status", { snapshot: true });
    expect(data(await drain(page))).toEqual(["new"]);
    expect(reads()).toBe(2);
    close();
  });

  it("clients that all leave while the engine hangs leave nothing pending: the read settles, the next client reads anew", async () => {
    const { a, b, planes, reads, close } = pair(STATE);
    a.publish("status", { data: "unseen" });
    await turns();
    // b's reads go through the kit's resumes, to an engine that never answers a SUBSCRIBE; neither
    // its timeoutMs nor the topic's snapshotTimeoutMs (10 s) passes here.
    const resumes = new BackplaneResumes<BackplaneEvent>({
      ...resumeReads(async () => undefined, 4),
      timeoutMs: 3_600_000,
      ready: () => true,
      synced: () => true,
      answered: () => new Promise(() => {}),
      barrier: async () => true,
      readLast: async () => undefined,
    });
    let pending = 0;
    planes[1].last = (topic, signal) => {
      planes[1].calls.push(`last ${topic}`);
      pending++;
      return resumes.last(topic, 10, signal).finally(() => pending--);
    };
    const leaving = [
      b.subscribe("status", { snapshot: true }),
      b.subscribe("status", { snapshot: true }),
    ];
    // Reading asks for the repair: one read for both, which hangs.
    expect(await Promise.all(leaving.map(drain))).toEqual([[], []]);
    expect({ reads: reads(), pending }).toEqual({ reads: 1, pending: 1 });
    b.unsubscribe(leaving[0]!);
    await turns();
    expect(pending).toBe(1); // One of its clients still waits.
    b.unsubscribe(leaving[1]!);
    await turns();
    expect(pending).toBe(0);
    // The topic's line is free: a client now gets a read of its own at once.
    expect(await drain(b.subscribe("status", { snapshot: true }))).toEqual([]);
    expect({ reads: reads(), pending }).toEqual({ reads: 2, pending: 1 });
    close();
  });
});
