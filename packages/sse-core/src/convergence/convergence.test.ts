import { waitFor } from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import { SSEOptionError } from "../base/errors.js";
import { EventBroker } from "../broker/broker.js";
import type { Client } from "../delivery/client.js";
import type { SSEEvent } from "../wire/encode.js";

/** Each client's one iterator, and the read it has waiting (kept across calls: a read is never lost). */
const readers = new WeakMap<
  Client,
  { it: AsyncIterator<SSEEvent>; next?: Promise<IteratorResult<SSEEvent>> }
>();

/** Reads what `client` has queued now (until nothing comes for 20 ms). */
async function drain(client: Client, max = 1000): Promise<SSEEvent[]> {
  let reader = readers.get(client);
  if (reader === undefined) {
    reader = { it: client[Symbol.asyncIterator]() };
    readers.set(client, reader);
  }
  const out: SSEEvent[] = [];
  for (let i = 0; i < max; i++) {
    reader.next ??= reader.it.next();
    const next = await Promise.race([
      reader.next,
      new Promise<"idle">((r) => setTimeout(() => r("idle"), 20)),
    ]);
    if (next === "idle") break;
    reader.next = undefined;
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe("state topics", () => {
  it("a slow client's queued events of a state topic collapse to the newest, queued last (ids never go back)", async () => {
    const broker = new EventBroker({ bufferSize: 8, topics: { status: { kind: "state" } } });
    const client = broker.subscribe(["status", "notes"]);
    broker.publish("status", { data: "1" });
    broker.publish("notes", { data: "a" });
    broker.publish("status", { data: "2" });
    broker.publish("status", { data: "3" });
    broker.publish("notes", { data: "b" });
    const got = await drain(client);
    expect(got.map((e) => `${e.type}:${e.data}`)).toEqual(["notes:a", "status:3", "notes:b"]);
    expect(broker.stats()).toMatchObject({ conflated: 2, dropped: 0 });
  });

  it("a client that resumes after an unknown id gets each state topic's latest event", async () => {
    const broker = new EventBroker({ historySize: 2, topics: { "badge:*": { kind: "state" } } });
    for (let i = 1; i <= 5; i++) broker.publish("badge:ann", { data: String(i) });
    const client = broker.subscribe(["badge:ann"], { lastEventId: "nope" });
    const got = await drain(client);
    expect(got.map((e) => e.data)).toEqual(["5"]);
    expect(broker.stats().snapshots.miss).toBe(1);
  });
});

describe("snapshots of log topics", () => {
  const notes: string[] = [];
  const render = () => notes.map((n) => `<li>${n}</li>`).join("");
  const add = (broker: EventBroker, n: string) => {
    notes.push(n);
    broker.publish("notes", { data: `<li>${n}</li>` });
  };

  it("a resume past history gets one snapshot replacing the region, then live events", async () => {
    notes.length = 0;
    const snapshot = vi.fn(render);
    const broker = new EventBroker({
      historySize: 10,
      topics: { notes: { snapshot, target: "#notes" } },
    });
    add(broker, "n0");
    const seen = await broker.cursor();
    for (let i = 1; i <= 30; i++) add(broker, `n${i}`);
    const client = broker.subscribe("notes", { lastEventId: seen });
    // Published before the client reads (the render starts then): covered, not sent twice.
    add(broker, "early");
    const got = await drain(client);
    expect(got.map((e) => e.data)).toEqual([
      `<hx-partial hx-target="#notes" hx-swap="innerHTML">${render()}</hx-partial>`,
    ]);
    add(broker, "late");
    expect((await drain(client)).map((e) => e.data)).toEqual(["<li>late</li>"]);
    expect(snapshot).toHaveBeenCalledTimes(1);
    expect(broker.stats()).toMatchObject({ snapshots: { miss: 1 }, resumeMisses: 1 });
  });
});

describe("a snapshot that renders asynchronously", () => {
  it("events published while it renders follow it; none published before is sent twice", async () => {
    const state: string[] = ["a"];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const broker = new EventBroker({
      historySize: 2,
      topics: {
        notes: {
          target: "#notes",
          snapshot: async () => {
            const html = state.join(",");
            await gate;
            return html;
          },
        },
      },
    });
    const client = broker.subscribe("notes", { lastEventId: "unknown" });
    const reading = drain(client);
    await new Promise((r) => setTimeout(r, 5));
    state.push("b");
    broker.publish("notes", { data: "b" });
    release();
    const got = (await reading).map((e) => e.data);
    expect(got).toEqual(['<hx-partial hx-target="#notes" hx-swap="innerHTML">a</hx-partial>', "b"]);
  });
});

describe("overflow on a repairable topic", () => {
  it("a stuck client holds at most one event per state topic and no snapshot; one render serves every client", async () => {
    const list: string[] = [];
    const snapshot = vi.fn(() => list.join(""));
    const broker = new EventBroker({
      bufferSize: 4,
      topics: { notes: { snapshot, target: "#notes" }, status: { kind: "state" } },
    });
    const clients = Array.from({ length: 50 }, () => broker.subscribe(["notes", "status"]));
    for (let i = 0; i < 100; i++) {
      list.push(`<li>${i}</li>`);
      broker.publish("notes", { data: `<li>${i}</li>` });
      broker.publish("status", { data: `s${i}` });
    }
    // Nobody read: nothing rendered yet (a stuck client asks for nothing).
    expect(snapshot).not.toHaveBeenCalled();
    const { dropped, conflated } = broker.stats();
    expect(dropped).toBe(0);
    expect(conflated).toBeGreaterThan(0);
    const all = await Promise.all(clients.map((c) => drain(c)));
    // One render at a time per topic: the clients that asked in one tick share it.
    expect(snapshot.mock.calls.length).toBeLessThanOrEqual(2);
    for (const got of all) {
      const status = got.filter((e) => e.type === "status").map((e) => e.data);
      expect(status[status.length - 1]).toBe("s99");
      expect(status.length).toBeLessThanOrEqual(1);
      const notes = got.filter((e) => e.type === "notes");
      expect(notes.at(-1)!.data).toBe(
        `<hx-partial hx-target="#notes" hx-swap="innerHTML">${list.join("")}</hx-partial>`,
      );
    }
    expect(broker.stats().snapshots.overflow).toBe(50);
  });

  it("under drop-oldest, an evicted event of a repairable topic is repaired, not lost", async () => {
    const list: string[] = [];
    const broker = new EventBroker({
      bufferSize: 2,
      slowClient: "drop-oldest",
      topics: { notes: { snapshot: () => list.join(""), target: "#n" } },
    });
    const client = broker.subscribe(["notes", "other"]);
    for (const n of ["a", "b"]) {
      list.push(n);
      broker.publish("notes", { data: n });
    }
    broker.publish("other", { data: "x" });
    const got = (await drain(client)).map((e) => `${e.type}:${e.data}`);
    expect(got).toEqual([
      "other:x",
      'notes:<hx-partial hx-target="#n" hx-swap="innerHTML">ab</hx-partial>',
    ]);
    expect(client.dropped).toBe(0);
  });
});

describe("a snapshot that fails", () => {
  const failing: [string, () => unknown][] = [
    [
      "throws",
      () => {
        throw new Error("db down");
      },
    ],
    ["rejects", () => Promise.reject(new Error("db down"))],
    ["returns no string", () => 42],
    ["hangs", () => new Promise(() => {})],
  ];
  for (const [name, snapshot] of failing) {
    it(`${name}: counted, warned once, its clients get the events held meanwhile`, async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        const broker = new EventBroker({
          historySize: 1,
          topics: {
            notes: { snapshot: snapshot as () => string, target: "#n", snapshotTimeoutMs: 30 },
          },
        });
        const client = broker.subscribe("notes", { lastEventId: "unknown" });
        const reading = drain(client, 10);
        await new Promise((r) => setTimeout(r, 5));
        broker.publish("notes", { data: "after" });
        const got = await reading;
        await waitFor(() => broker.stats().snapshotFailures === 1, "the render to fail");
        const rest = await drain(client);
        expect([...got, ...rest].map((e) => e.data)).toEqual(["after"]);
        expect(broker.stats().snapshotFailures).toBe(1);
        await new Promise((r) => setImmediate(r));
        expect(warnings.filter((m) => m.includes("snapshot of topic"))).toHaveLength(1);
      } finally {
        process.off("warning", onWarning);
      }
    });
  }
});

describe("a client that leaves while its snapshot renders", () => {
  it("is not sent it, the others are, and nothing is left waiting", async () => {
    let release!: (html: string) => void;
    const snapshot = vi.fn(() => new Promise<string>((r) => (release = r)));
    const broker = new EventBroker({
      historySize: 1,
      topics: { notes: { snapshot, target: "#n" } },
    });
    const leaving = broker.subscribe("notes", { lastEventId: "unknown" });
    const staying = broker.subscribe("notes", { lastEventId: "unknown" });
    const reads = [drain(leaving), drain(staying)];
    await waitFor(() => snapshot.mock.calls.length === 1, "the render to start");
    broker.unsubscribe(leaving);
    release("<li>a</li>");
    const [gone, got] = await Promise.all(reads);
    expect(gone).toEqual([]);
    expect(got!.map((e) => e.data)).toEqual([
      '<hx-partial hx-target="#n" hx-swap="innerHTML"><li>a</li></hx-partial>',
    ]);
    expect(snapshot).toHaveBeenCalledTimes(1);
    expect(broker.stats()).toMatchObject({ clients: 1, snapshots: { miss: 1 } });
  });
});

describe("the topics option", () => {
  const bad: [unknown, RegExp][] = [
    ["notes", /topics: must be an object/],
    [{ notes: { kind: "status" } }, /topics\["notes"\]\.kind: must be "log" or "state"/],
    [{ notes: { snapshot: () => "" } }, /topics\["notes"\]\.target: must be the CSS selector/],
    [
      { notes: { snapshot: "<ul>", target: "#n" } },
      /topics\["notes"\]\.snapshot: must be a function/,
    ],
    [{ notes: { snapshot: () => "", target: 5 } }, /target: must be the CSS selector/],
    [{ notes: { target: " " } }, /topics\["notes"\]\.target: must be the CSS selector/],
    [{ notes: { snapshotTimeout: 5 } }, /did you mean `snapshotTimeoutMs`/],
    [{ "a*b": { kind: "state" } }, /one \* at the end/],
    [{ notes: { snapshot: () => "", target: "#n", snapshotTimeoutMs: "5" } }, /pass the number 5/],
    [{ notes: { snapshotReuse: 5 } }, /did you mean `snapshotReuseMs`/],
    [
      { notes: { target: "#n", snapshotReuseMs: -1 } },
      /topics\["notes"\]\.snapshotReuseMs: must be an integer of at least 0/,
    ],
    [{ notes: { target: "#n", snapshotReuseMs: 2.5 } }, /snapshotReuseMs: must be an integer/],
    [{ notes: { target: "#n", snapshotReuseMs: Infinity } }, /snapshotReuseMs: must be an integer/],
    [{ notes: { target: "#n", snapshotReuseMs: "5" } }, /snapshotReuseMs: .*pass the number 5/],
  ];
  for (const [topics, message] of bad) {
    // Infinity shown as itself, not as JSON's null.
    const shown = JSON.stringify(topics, (_, v) => (v === Infinity ? "Infinity" : v));
    it(`refuses ${shown} with an SSEOptionError naming the field`, () => {
      expect(() => new EventBroker({ topics } as never)).toThrow(message);
    });
  }

  it("refuses a negative snapshotReuseMs with an SSEOptionError whose option is the field", () => {
    let error: unknown;
    try {
      new EventBroker({ topics: { notes: { target: "#n", snapshotReuseMs: -5 } } });
    } catch (thrown) {
      error = thrown;
    }
    expect(SSEOptionError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ option: 'topics["notes"].snapshotReuseMs', value: -5 });
  });

  it("a name wins over a pattern, a longer pattern over a shorter", async () => {
    const broker = new EventBroker({
      bufferSize: 8,
      topics: {
        "a:*": { kind: "state" },
        "a:b:*": { snapshot: () => "S", target: "#x" },
        "a:b:c": { kind: "log" },
      },
    });
    const client = broker.subscribe(["a:1", "a:b:2", "a:b:c"]);
    for (const topic of ["a:1", "a:1", "a:b:c", "a:b:c"]) broker.publish(topic, { data: topic });
    const got = (await drain(client)).map((e) => e.type);
    // a:1 is a state topic (conflated), a:b:c a plain log (both kept).
    expect(got).toEqual(["a:1", "a:b:c", "a:b:c"]);
  });
});
