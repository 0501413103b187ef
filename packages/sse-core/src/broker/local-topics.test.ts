import { describe, expect, it } from "vitest";
import { EventBroker, SSEOptionError } from "../index.js";
import { drain, turns } from "../testing/drain.js";
import { FakeEngine, FakePlane } from "../testing/fake-backplane.js";

/** Two brokers on one fake engine, each declaring `stats` (and `gauge`, a state topic) local. */
function pair(historySize = 100, resumeMissEvent?: string) {
  const engine = new FakeEngine();
  const planes = [new FakePlane(engine), new FakePlane(engine)];
  const brokers = planes.map(
    (backplane) =>
      new EventBroker({
        historySize,
        backplane,
        resumeMissEvent,
        topics: { stats: { local: true }, gauge: { kind: "state", local: true } },
      }),
  ) as [EventBroker, EventBroker];
  return { engine, planes, brokers };
}

const datas = (events: { data?: string }[]) => events.map((e) => e.data);

describe("a local topic (TopicPolicy.local) on a backplane", () => {
  it("reaches this process's clients only, never the backplane, and is not counted localOnly", async () => {
    const { planes, brokers } = pair();
    const [a, b] = brokers;
    const onA = a.subscribe(["stats", "notes"]);
    const onB = b.subscribe(["stats", "notes"]);
    await turns();
    expect(a.publish("stats", { data: "a1" })).toBe(1);
    b.publish("stats", { data: "b1" });
    a.publish("notes", { data: "n1" });
    await turns();
    expect(datas(await drain(onA))).toEqual(["a1", "n1"]);
    expect(datas(await drain(onB))).toEqual(["b1", "n1"]);
    for (const plane of planes) {
      expect(plane.calls.filter((c) => c.includes("stats"))).toEqual([]);
    }
    expect(a.stats()).toMatchObject({ published: 2, delivered: 2 });
    expect(a.stats().backplane).toMatchObject({ localOnly: 0, topics: 1 });
  });

  it("gives its events ids, and resumes a client of local topics only from this process's history", async () => {
    const { planes, brokers } = pair();
    const [a] = brokers;
    const first = a.subscribe("stats");
    for (let i = 1; i <= 4; i++) a.publish("stats", { data: `s${i}` });
    const seen = await drain(first);
    expect(datas(seen)).toEqual(["s1", "s2", "s3", "s4"]);
    expect(new Set(seen.map((e) => e.id)).size).toBe(4);
    a.unsubscribe(first);
    const back = a.subscribe("stats", { lastEventId: seen[1]!.id! });
    a.publish("stats", { data: "s5" });
    expect(datas(await drain(back))).toEqual(["s3", "s4", "s5"]);
    expect(planes[0]!.calls.filter((c) => c.startsWith("replay"))).toEqual([]);
    expect(a.stats()).toMatchObject({ resumed: 1, resumeMisses: 0 });
  });

  it("tells a client that resumes a local topic on another process of the miss", async () => {
    const { brokers } = pair(100, "resync");
    const [a, b] = brokers;
    const first = a.subscribe("stats");
    a.publish("stats", { data: "a1" });
    const [seen] = await drain(first);
    const moved = b.subscribe("stats", { lastEventId: seen!.id! });
    b.publish("stats", { data: "b1" });
    expect((await drain(moved)).map((e) => e.type ?? e.data)).toEqual(["resync", "stats"]);
    expect(b.stats()).toMatchObject({ resumeMisses: 1 });
  });

  it("resumes a client that mixes local and backplane topics from a local event's id: both parts exact", async () => {
    const { brokers } = pair();
    const [a] = brokers;
    const first = a.subscribe(["notes", "stats"]);
    await turns();
    a.publish("notes", { data: "n1" });
    await turns();
    a.publish("stats", { data: "s1" });
    const seen = await drain(first);
    expect(datas(seen)).toEqual(["n1", "s1"]);
    a.unsubscribe(first);
    a.publish("notes", { data: "n2" });
    a.publish("stats", { data: "s2" });
    await turns();
    const back = a.subscribe(["notes", "stats"], { lastEventId: seen[1]!.id! });
    await turns();
    expect(datas(await drain(back)).sort()).toEqual(["n2", "s2"]);
    expect(a.stats()).toMatchObject({ resumed: 1, resumeMisses: 0 });
  });

  it("resumes the backplane part exactly on another process from a local event's id, and tells of the local part's miss", async () => {
    const { brokers } = pair(100, "resync");
    const [a, b] = brokers;
    const first = a.subscribe(["notes", "stats"]);
    const watcher = b.subscribe("notes");
    await turns();
    a.publish("notes", { data: "n1" });
    await turns();
    a.publish("stats", { data: "s1" });
    const seen = await drain(first);
    b.publish("notes", { data: "n2" });
    await turns();
    const moved = b.subscribe(["notes", "stats"], { lastEventId: seen[1]!.id! });
    await turns();
    const got = await drain(moved);
    expect(got.map((e) => e.type)).toEqual(["resync", "notes"]);
    expect(got[1]!.data).toBe("n2");
    b.unsubscribe(watcher);
  });

  it("asks the backplane to replay a resuming client's backplane topics only, in its order, names and patterns alike", async () => {
    const plane = new FakePlane(new FakeEngine());
    const asked: (readonly string[])[] = [];
    const replay = plane.replay.bind(plane);
    plane.replay = (topics, lastEventId, signal) => {
      asked.push(topics);
      return replay(topics, lastEventId, signal);
    };
    const broker = new EventBroker({
      historySize: 10,
      backplane: plane,
      topics: { stats: { local: true }, "metric:*": { local: true }, "note:*": { kind: "log" } },
    });
    const topics = ["note:1", "metric:cpu", "stats", "alerts", "metric:mem", "note:2"];
    broker.subscribe(topics, { lastEventId: "e-0" });
    await turns();
    expect(asked).toEqual([["note:1", "alerts", "note:2"]]);
    for (const topic of ["stats", "metric:cpu", "metric:mem"]) {
      expect(plane.calls.filter((c) => c.includes(topic))).toEqual([]);
    }
    broker.close();
  });

  it("sends a local event held during a replay with the replay's position: a resume from it repeats nothing", async () => {
    const { planes, brokers } = pair(100, "resync");
    const [a, b] = brokers;
    b.publish("notes", { data: "n1" });
    b.publish("notes", { data: "n2" });
    await turns();
    let open!: () => void;
    planes[0]!.gate = new Promise((resolve) => {
      open = resolve;
    });
    // A page's cursor from before n1: the backplane's e-0, and a's local position.
    const local = (await a.cursor())!.split("~")[1];
    const client = a.subscribe(["notes", "stats"], { lastEventId: `e-0~${local}` });
    await turns();
    // a received nothing yet: this event's id names no position in the backplane's order.
    a.publish("stats", { data: "s1" });
    open();
    await turns();
    const seen = await drain(client);
    expect(datas(seen)).toEqual(["n1", "n2", "s1"]);
    expect(seen[2]!.id).toMatch(/^e-2~/);
    a.unsubscribe(client);
    b.publish("notes", { data: "n3" });
    a.publish("stats", { data: "s2" });
    await turns();
    const back = a.subscribe(["notes", "stats"], { lastEventId: seen[2]!.id! });
    await turns();
    expect(datas(await drain(back)).sort()).toEqual(["n3", "s2"]);
    expect(a.stats().resumeMisses).toBe(0);
  });

  it("resumes the backplane part from a backplane id, and repairs a local state topic with this process's latest", async () => {
    const { planes, brokers } = pair();
    const [a] = brokers;
    const first = a.subscribe(["notes", "gauge"]);
    await turns();
    a.publish("gauge", { data: "g1" });
    a.publish("notes", { data: "n1" });
    await turns();
    const seen = await drain(first);
    expect(datas(seen)).toEqual(["g1", "n1"]);
    a.unsubscribe(first);
    a.publish("gauge", { data: "g2" });
    a.publish("notes", { data: "n2" });
    await turns();
    const back = a.subscribe(["notes", "gauge"], { lastEventId: seen[1]!.id! });
    await turns();
    expect(datas(await drain(back))).toEqual(["n2", "g2"]);
    // The latest of a local topic is this process's: the engine is never asked.
    expect(planes[0]!.calls.filter((c) => c.includes("gauge"))).toEqual([]);
  });

  it("repairs a local state topic on connect with this process's latest, never the engine's", async () => {
    const { planes, brokers } = pair();
    const [a, b] = brokers;
    a.publish("gauge", { data: "a" });
    b.publish("gauge", { data: "b" });
    const client = b.subscribe("gauge", { snapshot: true });
    expect(datas(await drain(client))).toEqual(["b"]);
    expect(planes[1]!.calls.filter((c) => c.includes("gauge"))).toEqual([]);
  });

  it("gives a cursor that resumes both parts", async () => {
    const { brokers } = pair();
    const [a] = brokers;
    const watcher = a.subscribe(["notes", "stats"]);
    await turns();
    a.publish("notes", { data: "n1" });
    a.publish("stats", { data: "s1" });
    await turns();
    const cursor = await a.cursor();
    a.publish("notes", { data: "n2" });
    a.publish("stats", { data: "s2" });
    await turns();
    const page = a.subscribe(["notes", "stats"], { lastEventId: cursor! });
    await turns();
    expect(datas(await drain(page)).sort()).toEqual(["n2", "s2"]);
    a.unsubscribe(watcher);
  });

  it("fits typed topics: a typed broker declares one of its topics local", async () => {
    const engine = new FakeEngine();
    const typed = new EventBroker<{ stats: string; [note: `note:${string}`]: string }>({
      historySize: 10,
      backplane: new FakePlane(engine),
      topics: { stats: { kind: "state", local: true }, "note:*": { kind: "log" } },
    });
    const client = typed.subscribe(["stats", "note:1"]);
    typed.publish("stats", { data: "mine" });
    expect(datas(await drain(client))).toEqual(["mine"]);
  });

  it("is a no-op without a backplane: the topic is an ordinary one", async () => {
    const broker = new EventBroker({ historySize: 10, topics: { stats: { local: true } } });
    const client = broker.subscribe("stats");
    broker.publish("stats", { data: "1" });
    const [event] = await drain(client);
    const back = broker.subscribe("stats", { lastEventId: event!.id! });
    broker.publish("stats", { data: "2" });
    expect(datas(await drain(back))).toEqual(["2"]);
  });

  it("does not repair a local log topic without a target, even for a client with its own renderer: its overflow drops", async () => {
    const broker = new EventBroker({ bufferSize: 1, topics: { stats: { local: true } } });
    const client = broker.subscribe("stats", { renderSnapshot: () => "<p>mine</p>" });
    for (let i = 1; i <= 3; i++) broker.publish("stats", { data: String(i) });
    expect(client.dropped).toBe(2);
    expect(datas(await drain(client))).toEqual(["1"]);
  });

  it("refuses a local that is not a boolean, naming the field", () => {
    let thrown: unknown;
    try {
      new EventBroker({ topics: { stats: { local: "yes" as never } } });
    } catch (error) {
      thrown = error;
    }
    expect(SSEOptionError.isInstance(thrown)).toBe(true);
    expect((thrown as SSEOptionError).option).toBe('topics["stats"].local');
    expect((thrown as Error).message).toBe(
      'sse: topics["stats"].local: must be true or false, e.g. { local: true }, got "yes" (a string)',
    );
  });
});
