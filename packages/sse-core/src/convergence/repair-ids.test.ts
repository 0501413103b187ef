// Repair ids and repairs across processes (issue #25): what a client is sent
// while a repair is outstanding, what a reconnect with such an id gets, and,
// on a backplane (the in-memory fake of Redis or PostgreSQL), a cut whose
// events cannot be read back, a snapshot that covers events this process has
// not received yet, and a state topic's latest event gone stale.
import { describe, expect, it } from "vitest";
import { EventBroker, type SSEEvent } from "../index.js";
import { drain, turns } from "../testing/drain.js";
import { FakeEngine, FakePlane } from "../testing/fake-backplane.js";

/** The notes as the app renders them, and the broker's `topics` for notes (log) and status (state). */
function app() {
  const notes: string[] = [];
  let renders = 0;
  return {
    notes,
    get renders() {
      return renders;
    },
    topics: {
      notes: {
        snapshot: () => {
          renders++;
          return notes.map((n) => `<li>${n}</li>`).join("");
        },
        target: "#notes",
      },
      status: { kind: "state" as const },
    },
    add(broker: EventBroker, note: string): void {
      notes.push(note);
      broker.publish("notes", { data: `<li>${note}</li>` });
    },
  };
}

const isSnapshot = (event: SSEEvent) => event.data?.startsWith("<hx-partial") === true;

describe("repair ids", () => {
  it("from the moment a repair is needed until the client writes past it, ids end in r; a reconnect with one repairs again and replays the rest exactly", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 50, bufferSize: 2, topics: notes.topics });
    const client = broker.subscribe(["notes", "chat"]);
    // Overflow on notes (a topic with a snapshot) while chat events wait behind it.
    for (const n of ["a", "b", "c"]) notes.add(broker, n);
    broker.publish("chat", { data: "hi" });
    const first = await drain(client);
    expect(first.map((e) => [e.type, isSnapshot(e)])).toEqual([
      ["chat", false],
      ["notes", true],
    ]);
    expect(first.every((e) => e.id?.endsWith("r"))).toBe(true);
    expect(broker.stats().snapshots).toMatchObject({ overflow: 1 });

    // Past the repair, ids are plain again.
    notes.add(broker, "d");
    const [live] = await drain(client);
    expect(live).toMatchObject({ type: "notes", data: "<li>d</li>" });
    expect(live!.id).toMatch(/-\d+$/);

    // A page cut off before that event reconnects with the repair id it last saw: chat is
    // replayed exactly (nothing missed), notes repaired again (its copy may be ahead of the id).
    broker.publish("chat", { data: "after" });
    const again = broker.subscribe(["notes", "chat"], { lastEventId: first.at(-1)!.id! });
    const replayed = await drain(again);
    expect(replayed.map((e) => (isSnapshot(e) ? "snapshot" : e.data))).toEqual([
      "after",
      "snapshot",
    ]);
    expect(replayed[1]!.data).toContain("<li>a</li><li>b</li><li>c</li><li>d</li>");
    broker.close();
  });

  it("an id ending in r that this broker did not give (another epoch) is a restart: every repairable topic repaired", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 50, topics: notes.topics });
    notes.add(broker, "a");
    const client = broker.subscribe(["notes"], { lastEventId: "zzzzzzzz-1r" });
    const events = await drain(client);
    expect(events.map(isSnapshot)).toEqual([true]);
    expect(broker.stats().snapshots).toMatchObject({ restart: 1 });
    broker.close();
  });
  it.each([
    ["a plain id", ""],
    ["a repair id", "r"],
  ])(
    "%s of this broker's epoch crafted past its latest publish is a miss: repaired or told, never taken as current",
    async (_, mark) => {
      const notes = app();
      const broker = new EventBroker({
        historySize: 50,
        topics: notes.topics,
        resumeMissEvent: "missed",
      });
      notes.add(broker, "a");
      broker.publish("chat", { data: "hi" });
      const [epoch, seq] = (await broker.cursor())!.split("-");
      const crafted = `${epoch}-${Number(seq) + 1000}${mark}`;
      const events = await drain(broker.subscribe(["notes", "chat"], { lastEventId: crafted }));
      // notes has a snapshot: repaired (reason miss); chat has none: the client is told first.
      // The snapshot's id is a repair id at the broker's real latest, not at the crafted seq.
      expect(events.map((e) => (isSnapshot(e) ? "snapshot" : e.type))).toEqual([
        "missed",
        "snapshot",
      ]);
      expect(events[1]).toMatchObject({ id: `${epoch}-${seq}r` });
      expect(broker.stats().snapshots).toMatchObject({ miss: 1 });
      // Later events arrive live with plain ids of this epoch.
      const later = broker.subscribe(["chat"], { lastEventId: crafted });
      await drain(later);
      broker.publish("chat", { data: "later" });
      const [live] = await drain(later);
      expect(live).toMatchObject({ data: "later", id: `${epoch}-${Number(seq) + 1}` });
      broker.close();
    },
  );
});

describe("repairs on a backplane", () => {
  function pair(historySize: number) {
    const engine = new FakeEngine(historySize);
    const planes = [new FakePlane(engine), new FakePlane(engine)] as const;
    return { engine, planes };
  }

  it("an id of the engine's epoch crafted past its latest event is a miss: repaired or told, never taken as current", async () => {
    const notes = app();
    const { planes } = pair(50);
    const a = new EventBroker({ historySize: 50, backplane: planes[0], topics: notes.topics });
    const b = new EventBroker({
      historySize: 50,
      backplane: planes[1],
      topics: notes.topics,
      resumeMissEvent: "missed",
    });
    notes.add(a, "a");
    a.publish("chat", { data: "hi" });
    await turns();
    const latest = (await b.cursor())!;
    const dash = latest.lastIndexOf("-");
    const crafted = `${latest.slice(0, dash)}-${Number(latest.slice(dash + 1)) + 1000}`;
    const events = await drain(b.subscribe(["notes", "chat"], { lastEventId: crafted }));
    expect(events.map((e) => (isSnapshot(e) ? "snapshot" : e.type))).toEqual([
      "missed",
      "snapshot",
    ]);
    expect(events[1]!.data).toContain("<li>a</li>");
    a.close();
    b.close();
  });

  it("a cut whose events the engine no longer holds: the broker's clients of topics with a snapshot get one; others are left as they were", async () => {
    const notes = app();
    const { planes } = pair(2);
    const a = new EventBroker({ historySize: 2, backplane: planes[0], topics: notes.topics });
    const b = new EventBroker({ historySize: 2, backplane: planes[1], topics: notes.topics });
    const onB = b.subscribe(["notes", "chat"]);
    notes.add(a, "a");
    await turns();
    expect((await drain(onB)).map((e) => e.data)).toEqual(["<li>a</li>"]);

    planes[1].cut();
    for (const n of ["b", "c", "d"]) notes.add(a, n);
    a.publish("chat", { data: "lost for good" });
    await turns();
    planes[1].restore();
    const after = await drain(onB);
    expect(after.map((e) => (isSnapshot(e) ? e.data : `live ${e.data}`))).toEqual([
      '<hx-partial hx-target="#notes" hx-swap="innerHTML"><li>a</li><li>b</li><li>c</li><li>d</li></hx-partial>',
    ]);
    expect(b.stats().snapshots).toMatchObject({ miss: 1 });
    a.close();
    b.close();
  });

  it("a head read that hangs: the render waits at most snapshotTimeoutMs, then covers what the process received", async () => {
    const notes = app();
    const { planes } = pair(10);
    const topics = { notes: { ...notes.topics.notes, snapshotTimeoutMs: 40 } };
    const a = new EventBroker({ historySize: 10, backplane: planes[0], topics });
    const b = new EventBroker({ historySize: 10, backplane: planes[1], topics });
    notes.add(a, "x");
    await turns();
    planes[1].latestGate = new Promise(() => {});
    const page = b.subscribe(["notes"], { snapshot: true });
    expect(await drain(page)).toEqual([]);
    expect(notes.renders).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const first = await drain(page);
    expect(first.map(isSnapshot)).toEqual([true]);
    expect(first[0]!.data).toContain("<li>x</li>");
    notes.add(a, "y");
    await turns();
    expect((await drain(page)).map((e) => e.data)).toEqual(["<li>y</li>"]);
    a.close();
    b.close();
  });

  it("clients that all leave while the head is read are rendered nothing; a later client gets its own render", async () => {
    const notes = app();
    const { planes } = pair(10);
    const a = new EventBroker({ historySize: 10, backplane: planes[0], topics: notes.topics });
    const b = new EventBroker({ historySize: 10, backplane: planes[1], topics: notes.topics });
    notes.add(a, "x");
    await turns();
    let openHead: () => void = () => {};
    planes[1].latestGate = new Promise((resolve) => {
      openHead = resolve;
    });
    const leaving = [1, 2, 3].map(() => b.subscribe(["notes"], { snapshot: true }));
    // Each asks for its snapshot; the render waits for the head.
    for (const client of leaving) expect(await drain(client)).toEqual([]);
    expect(planes[1].calls).toContain("latest");
    for (const client of leaving) b.unsubscribe(client);
    planes[1].latestGate = undefined;
    openHead();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notes.renders).toBe(0);
    const page = b.subscribe(["notes"], { snapshot: true });
    const first = await drain(page);
    expect(first.map(isSnapshot)).toEqual([true]);
    expect(notes.renders).toBe(1);
    a.close();
    b.close();
  });

  it("a snapshot covers what the engine ordered before it rendered; the late copies of those events are skipped", async () => {
    const notes = app();
    const { planes } = pair(10);
    const a = new EventBroker({ historySize: 10, backplane: planes[0], topics: notes.topics });
    const b = new EventBroker({ historySize: 10, backplane: planes[1], topics: notes.topics });
    b.subscribe("chat");
    await turns();
    // b is cut: it has not received x and y when its new client's snapshot renders them.
    planes[1].cut();
    notes.add(a, "x");
    notes.add(a, "y");
    const page = b.subscribe(["notes"], { snapshot: true });
    const first = await drain(page);
    expect(first.map(isSnapshot)).toEqual([true]);
    expect(first[0]!.data).toContain("<li>x</li><li>y</li>");
    // Back: b reads x and y back from the engine; the page shows them already.
    planes[1].restore();
    notes.add(a, "z");
    await turns();
    expect((await drain(page)).map((e) => e.data)).toEqual(["<li>z</li>"]);
    a.close();
    b.close();
  });

  it("a state topic's latest event is forgotten when this broker stops watching it (it would go stale): a new client gets the engine's", async () => {
    const { planes } = pair(10);
    const topics = { status: { kind: "state" as const } };
    const a = new EventBroker({ historySize: 10, backplane: planes[0], topics });
    const b = new EventBroker({ historySize: 10, backplane: planes[1], topics });
    const watcher = b.subscribe("status");
    a.publish("status", { data: "old" });
    await turns();
    b.unsubscribe(watcher);
    a.publish("status", { data: "new" });
    await turns();
    // b no longer knows the status: it reads the engine's latest ("new") rather than send "old".
    const late = b.subscribe("status", { snapshot: true });
    expect((await drain(late)).map((e) => e.data)).toEqual(["new"]);
    a.close();
    b.close();
  });
});
