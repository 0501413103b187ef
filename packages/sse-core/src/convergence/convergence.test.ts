import { describe, expect, it, vi } from "vitest";
import { EventBroker } from "../broker/broker.js";
import type { Client } from "../delivery/client.js";
import type { SSEEvent } from "../wire/encode.js";

/** Reads what `client` has queued now (without waiting for more). */
async function drain(client: Client, max = 1000): Promise<SSEEvent[]> {
  const out: SSEEvent[] = [];
  const it = client[Symbol.asyncIterator]();
  for (let i = 0; i < max; i++) {
    const next = await Promise.race([
      it.next(),
      new Promise<"idle">((r) => setTimeout(() => r("idle"), 20)),
    ]);
    if (next === "idle" || next.done) break;
    out.push(next.value);
  }
  return out;
}

describe("state topics", () => {
  it("a slow client's queued events of a state topic collapse to the newest, in place", async () => {
    const broker = new EventBroker({ bufferSize: 8, topics: { status: { kind: "state" } } });
    const client = broker.subscribe(["status", "notes"]);
    broker.publish("status", { data: "1" });
    broker.publish("notes", { data: "a" });
    broker.publish("status", { data: "2" });
    broker.publish("status", { data: "3" });
    broker.publish("notes", { data: "b" });
    const got = await drain(client);
    expect(got.map((e) => `${e.type}:${e.data}`)).toEqual(["status:3", "notes:a", "notes:b"]);
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
