// A topic's last snapshot serves later clients while the topic publishes
// nothing (stuck clients returning one after another used to render one
// each); an event published since the render started, even while it runs,
// calls for a fresh one, and so does a render older than the topic's
// snapshotReuseMs (state the app changed without publishing). The clock
// (performance.now) is fake: a render ages only when a test says so.
import { waitFor } from "@burrow/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventBroker, type SSEEvent } from "../index.js";
import { drain, turns } from "../testing/drain.js";
import { FakeEngine, FakePlane } from "../testing/fake-backplane.js";

const partial = (html: string) =>
  `<hx-partial hx-target="#notes" hx-swap="innerHTML">${html}</hx-partial>`;

/** The app's notes, its render of them (sync, or held until released), and its publish. */
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["performance"] });
});
afterEach(() => {
  vi.useRealTimers();
});

function app(hold = false, reuse: { snapshotReuseMs?: number } = {}) {
  const notes: string[] = ["a"];
  const releases: (() => void)[] = [];
  const snapshot = vi.fn(() => {
    // Read at the call, as the README asks; an async render answers it later.
    const html = notes.map((n) => `<li>${n}</li>`).join("");
    if (!hold) return html;
    return new Promise<string>((resolve) => releases.push(() => resolve(html)));
  });
  return {
    snapshot,
    topics: { notes: { snapshot, target: "#notes", ...reuse } },
    /** Lets the oldest held render answer. */
    release: () => releases.shift()!(),
    add(broker: EventBroker, note: string): void {
      notes.push(note);
      broker.publish("notes", { data: `<li>${note}</li>` });
    },
  };
}

const dataOf = (events: SSEEvent[]) => events.map((e) => e.data);

/** A broker whose held render of notes runs for `first`, a client resuming past history. */
async function renderRunning(reuse: { snapshotReuseMs?: number } = {}) {
  const notes = app(true, reuse);
  const broker = new EventBroker({ historySize: 1, topics: notes.topics });
  const first = broker.subscribe("notes", { lastEventId: "gone" });
  // Its read asks for the render (drain keeps the read waiting across calls).
  expect(await drain(first)).toEqual([]);
  await waitFor(() => notes.snapshot.mock.calls.length === 1, "the render to start");
  return { notes, broker, first };
}

/** What a page shows of `#notes` after `events`: the last snapshot, and the events after it appended. */
function region(events: SSEEvent[]): string {
  let html = "";
  for (const data of dataOf(events)) {
    const inner = /^<hx-partial[^>]*>(.*)<\/hx-partial>$/.exec(data ?? "");
    html = inner === null ? html + data : inner[1]!;
  }
  return html;
}

/** Two brokers on one in-memory engine (its history `historySize` per topic), with `topics`. */
function pair(historySize: number, topics: ReturnType<typeof app>["topics"]) {
  const engine = new FakeEngine(historySize);
  const planes = [new FakePlane(engine), new FakePlane(engine)] as const;
  const [a, b] = planes.map((plane) => new EventBroker({ historySize, backplane: plane, topics }));
  return { a: a!, b: b!, planes };
}

describe("a topic's last snapshot, reused while the topic publishes nothing", () => {
  it("slow readers whose buffers overflowed, returning one after another: one render serves them all", async () => {
    const notes = app();
    const broker = new EventBroker({ bufferSize: 2, topics: notes.topics });
    const clients = Array.from({ length: 5 }, () => broker.subscribe(["notes", "chat"]));
    for (const n of ["b", "c", "d"]) notes.add(broker, n);
    broker.publish("chat", { data: "another topic's event changes nothing" });
    for (const client of clients) {
      const got = (await drain(client)).filter((e) => e.type === "notes");
      expect(dataOf(got)).toEqual([partial("<li>a</li><li>b</li><li>c</li><li>d</li>")]);
    }
    expect(notes.snapshot).toHaveBeenCalledTimes(1);
    expect(broker.stats().snapshots.overflow).toBe(5);
    broker.close();
  });

  it("clients resuming past history one after another: one render; live events follow each", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 1, topics: notes.topics });
    notes.add(broker, "b");
    const clients = [];
    for (let i = 0; i < 4; i++) {
      const client = broker.subscribe("notes", { lastEventId: "gone" });
      expect(dataOf(await drain(client))).toEqual([partial("<li>a</li><li>b</li>")]);
      clients.push(client);
    }
    expect(notes.snapshot).toHaveBeenCalledTimes(1);
    notes.add(broker, "c");
    for (const client of clients) expect(dataOf(await drain(client))).toEqual(["<li>c</li>"]);
    broker.close();
  });

  it("a publish on the topic ends the reuse: the next client's render shows it, and that one is reused in turn", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 1, topics: notes.topics });
    notes.add(broker, "b");
    await drain(broker.subscribe("notes", { lastEventId: "gone" }));
    notes.add(broker, "c");
    for (let i = 0; i < 2; i++) {
      const client = broker.subscribe("notes", { lastEventId: "gone" });
      expect(dataOf(await drain(client))).toEqual([partial("<li>a</li><li>b</li><li>c</li>")]);
    }
    expect(notes.snapshot).toHaveBeenCalledTimes(2);
    broker.close();
  });

  it("is dropped when the topic's last client leaves: the next client gets a render of its own", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 1, topics: notes.topics });
    const first = broker.subscribe("notes", { lastEventId: "gone" });
    await drain(first);
    broker.unsubscribe(first);
    const next = broker.subscribe("notes", { lastEventId: "gone" });
    expect(dataOf(await drain(next))).toEqual([partial("<li>a</li>")]);
    expect(notes.snapshot).toHaveBeenCalledTimes(2);
    broker.close();
  });

  it("a client that asks while a render runs, the topic quiet, is served by that render", async () => {
    const { notes, broker, first } = await renderRunning();
    const second = broker.subscribe("notes", { lastEventId: "gone" });
    expect(await drain(second)).toEqual([]);
    notes.release();
    expect(dataOf(await drain(first))).toEqual([partial("<li>a</li>")]);
    expect(dataOf(await drain(second))).toEqual([partial("<li>a</li>")]);
    expect(notes.snapshot).toHaveBeenCalledTimes(1);
    broker.close();
  });

  it("a client's own renderer (a handler's snapshot option) is never shared", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 1, topics: notes.topics });
    const own = vi.fn((topic: string) => `<li>mine: ${topic}</li>`);
    for (let i = 0; i < 3; i++) {
      const client = broker.subscribe("notes", { lastEventId: "gone", renderSnapshot: own });
      expect(dataOf(await drain(client))).toEqual([partial("<li>mine: notes</li>")]);
    }
    expect(own).toHaveBeenCalledTimes(3);
    expect(notes.snapshot).not.toHaveBeenCalled();
    expect(broker.stats().snapshotRenders).toBe(3);
    broker.close();
  });
});

/** A client resuming past history on `broker`: what it was sent at once. */
async function resume(broker: EventBroker): Promise<unknown[]> {
  return dataOf(await drain(broker.subscribe("notes", { lastEventId: "gone" })));
}

describe("snapshotReuseMs: how long after its render started a snapshot is sent again", () => {
  it("by default 5 s: a younger snapshot is sent again, an older one rendered afresh (the app's state may have changed unpublished)", async () => {
    const notes = app();
    const broker = new EventBroker({ historySize: 1, topics: notes.topics });
    expect(await resume(broker)).toEqual([partial("<li>a</li>")]);
    vi.advanceTimersByTime(4999);
    expect(await resume(broker)).toEqual([partial("<li>a</li>")]);
    expect(broker.stats().snapshotRenders).toBe(1);
    // Changed without a publish (the app forgot one): the next render shows it.
    notes.snapshot.mockImplementation(() => "<li>a</li><li>edited</li>");
    vi.advanceTimersByTime(1);
    expect(await resume(broker)).toEqual([partial("<li>a</li><li>edited</li>")]);
    expect(await resume(broker)).toEqual([partial("<li>a</li><li>edited</li>")]);
    expect(notes.snapshot).toHaveBeenCalledTimes(2);
    expect(broker.stats()).toMatchObject({ snapshotRenders: 2, snapshots: { miss: 4 } });
    broker.close();
  });

  it("counts from the render's start, not its end: a slow render is reused for what is left", async () => {
    const { notes, broker, first } = await renderRunning({ snapshotReuseMs: 1000 });
    vi.advanceTimersByTime(800);
    notes.release();
    expect(dataOf(await drain(first))).toEqual([partial("<li>a</li>")]);
    expect(await resume(broker)).toEqual([partial("<li>a</li>")]);
    expect(notes.snapshot).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(200);
    const late = broker.subscribe("notes", { lastEventId: "gone" });
    expect(await drain(late)).toEqual([]);
    await waitFor(() => notes.snapshot.mock.calls.length === 2, "a fresh render to start");
    notes.release();
    expect(dataOf(await drain(late))).toEqual([partial("<li>a</li>")]);
    expect(broker.stats()).toMatchObject({ snapshotRenders: 2, snapshots: { miss: 3 } });
    broker.close();
  });

  it("0: never sent again; every client gets a render of its own, as before reuse", async () => {
    const notes = app(false, { snapshotReuseMs: 0 });
    const broker = new EventBroker({ historySize: 1, topics: notes.topics });
    for (let i = 0; i < 3; i++) expect(await resume(broker)).toEqual([partial("<li>a</li>")]);
    expect(notes.snapshot).toHaveBeenCalledTimes(3);
    expect(broker.stats()).toMatchObject({ snapshotRenders: 3, snapshots: { miss: 3 } });
    broker.close();
  });

  it("0: a client that asks while a render runs waits for the next render", async () => {
    const { notes, broker, first } = await renderRunning({ snapshotReuseMs: 0 });
    const second = broker.subscribe("notes", { lastEventId: "gone" });
    expect(await drain(second)).toEqual([]);
    notes.release();
    expect(dataOf(await drain(first))).toEqual([partial("<li>a</li>")]);
    await waitFor(() => notes.snapshot.mock.calls.length === 2, "its own render to start");
    notes.release();
    expect(dataOf(await drain(second))).toEqual([partial("<li>a</li>")]);
    expect(broker.stats().snapshotRenders).toBe(2);
    broker.close();
  });
});

describe("an event published while a render runs (the attacker)", () => {
  it("is not covered by it: a client that comes next gets a fresh render showing it", async () => {
    const { notes, broker, first } = await renderRunning();
    notes.add(broker, "b");
    notes.release();
    // The running render's clients get it, then the event.
    expect(dataOf(await drain(first))).toEqual([partial("<li>a</li>"), "<li>b</li>"]);
    const next = broker.subscribe("notes", { lastEventId: "gone" });
    expect(await drain(next)).toEqual([]);
    await waitFor(() => notes.snapshot.mock.calls.length === 2, "a fresh render to start");
    notes.release();
    expect(dataOf(await drain(next))).toEqual([partial("<li>a</li><li>b</li>")]);
    broker.close();
  });

  it("a client that asked while it ran, before the event, waits for a fresh render too", async () => {
    const { notes, broker, first } = await renderRunning();
    const asked = broker.subscribe("notes", { lastEventId: "gone" });
    expect(await drain(asked)).toEqual([]);
    notes.add(broker, "b");
    notes.release();
    expect(dataOf(await drain(first))).toEqual([partial("<li>a</li>"), "<li>b</li>"]);
    await waitFor(() => notes.snapshot.mock.calls.length === 2, "a fresh render to start");
    notes.release();
    expect(dataOf(await drain(asked))).toEqual([partial("<li>a</li><li>b</li>")]);
    broker.close();
  });
});

describe("on a backplane", () => {
  it("an event published on another process ends the reuse once received; until then it follows the reused snapshot", async () => {
    const notes = app();
    const { a, b } = pair(50, notes.topics);
    const watcher = b.subscribe("notes");
    await turns();
    const first = b.subscribe("notes", { snapshot: true });
    expect(region(await drain(first))).toBe("<li>a</li>");
    // Published on a, not received by b yet: a client asking now may be sent the last snapshot,
    // and then the event (never neither, never both).
    notes.add(a, "b");
    const early = b.subscribe("notes", { snapshot: true });
    expect(dataOf(await drain(early))).toEqual([partial("<li>a</li>"), "<li>b</li>"]);
    expect(notes.snapshot).toHaveBeenCalledTimes(1);
    await turns();
    const late = b.subscribe("notes", { snapshot: true });
    expect(region(await drain(late))).toBe("<li>a</li><li>b</li>");
    expect(notes.snapshot).toHaveBeenCalledTimes(2);
    expect(dataOf(await drain(watcher))).toEqual(["<li>b</li>"]);
    a.close();
    b.close();
  });

  it("a cut whose events the engine no longer holds: the repair renders afresh, never the last snapshot", async () => {
    const notes = app();
    const { a, b, planes } = pair(2, notes.topics);
    const page = b.subscribe("notes", { snapshot: true });
    expect(region(await drain(page))).toBe("<li>a</li>");
    planes[1].cut();
    for (const n of ["b", "c", "d"]) notes.add(a, n);
    await turns();
    planes[1].restore();
    expect(region(await drain(page))).toBe("<li>a</li><li>b</li><li>c</li><li>d</li>");
    a.close();
    b.close();
  });
});
