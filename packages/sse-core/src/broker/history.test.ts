import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Client, EventBroker, type SSEEvent } from "../index.js";

/** Reads `n` events from a client's iterator. */
async function take(client: Client, n: number): Promise<SSEEvent[]> {
  const it = client[Symbol.asyncIterator]();
  const out: SSEEvent[] = [];
  for (let i = 0; i < n; i++) {
    const { value, done } = await it.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

describe("history and resume", () => {
  it("keeps nothing and changes nothing by default", () => {
    const broker = new EventBroker();
    expect(broker.historySize).toBe(0);
    const watcher = broker.subscribe("a");
    broker.publish("a", { data: "x" });
    const late = broker.subscribe("a", { lastEventId: "anything" });
    expect(broker.publish("a", { data: "y" })).toBe(2);
    expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 0 });
    broker.unsubscribe(watcher);
    broker.unsubscribe(late);
  });

  it("assigns strictly increasing ids to events without one and keeps explicit ids", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const client = broker.subscribe(["a", "b"]);
    broker.publish("a", { data: "1" });
    broker.publish("b", { data: "2", id: "mine" });
    broker.publish("a", { data: "3" });
    const [first, second, third] = await take(client, 3);
    expect(second?.id).toBe("mine");
    const seq = (id: string | undefined) => Number(id?.split("-")[1]);
    expect(seq(first?.id)).toBeLessThan(seq(third?.id));
    expect(first?.id?.split("-")[0]).toBe(third?.id?.split("-")[0]);
  });

  it("replays what a client missed on its topics, in publish order, then goes live", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const seen = broker.subscribe(["a", "b", "c"]);
    broker.publish("a", { data: "a1" });
    const [a1] = await take(seen, 1);
    broker.publish("b", { data: "b1" });
    broker.publish("c", { data: "c1" });
    broker.publish("a", { data: "a2", id: "custom" });
    broker.publish("b", { data: "b2" });
    const resumed = broker.subscribe(["a", "b"], { lastEventId: a1?.id });
    broker.publish("c", { data: "c2" });
    broker.publish("b", { data: "b3" });
    const events = await take(resumed, 4);
    expect(events.map((e) => e.data)).toEqual(["b1", "a2", "b2", "b3"]);
    expect(broker.stats()).toMatchObject({ resumed: 1, resumeMisses: 0 });
  });

  it("retains events published while a topic has no client", async () => {
    const broker = new EventBroker({ historySize: 5 });
    const first = broker.subscribe("news");
    broker.publish("news", { data: "one" });
    const [one] = await take(first, 1);
    broker.unsubscribe(first);
    expect(broker.stats().topics).toBe(0);
    expect(broker.publish("news", { data: "two" })).toBe(0);
    const back = broker.subscribe("news", { lastEventId: one?.id });
    expect((await take(back, 1)).map((e) => e.data)).toEqual(["two"]);
  });

  it("replays nothing for an unknown id, counts it, and sends the resume-miss event if asked", async () => {
    const plain = new EventBroker({ historySize: 5 });
    plain.publish("a", { data: "old" });
    const lost = plain.subscribe("a", { lastEventId: "not-an-id" });
    plain.publish("a", { data: "new" });
    expect((await take(lost, 1)).map((e) => e.data)).toEqual(["new"]);
    expect(plain.stats().resumeMisses).toBe(1);

    const signalling = new EventBroker({ historySize: 5, resumeMissEvent: "resync" });
    const told = signalling.subscribe("a", { lastEventId: "not-an-id" });
    signalling.publish("a", { data: "new" });
    const events = await take(told, 2);
    expect(events[0]).toMatchObject({ type: "resync" });
    expect(events[1]).toMatchObject({ data: "new" });
  });

  it("treats an evicted id as a miss: resuming would leave a gap", async () => {
    const broker = new EventBroker({ historySize: 2, resumeMissEvent: "resync" });
    const seen = broker.subscribe("a");
    broker.publish("a", { data: "1" });
    const [one] = await take(seen, 1);
    broker.publish("a", { data: "2" });
    broker.publish("a", { data: "3" }); // evicts "1"
    broker.publish("a", { data: "4" }); // evicts "2": the event after "1" is gone
    const late = broker.subscribe("a", { lastEventId: one?.id });
    broker.publish("a", { data: "5" });
    expect((await take(late, 2)).map((e) => e.type ?? e.data)).toEqual(["resync", "a"]);
    expect(broker.stats().resumeMisses).toBe(1);
  });

  it("rejects an invalid resumeMissEvent type at construction", () => {
    expect(() => new EventBroker({ historySize: 1, resumeMissEvent: "a\nb" })).toThrow(/type/);
  });

  it("replays more events than bufferSize: replay is never cut by the buffer", async () => {
    const broker = new EventBroker({ bufferSize: 2, historySize: 100 });
    const seen = broker.subscribe("a");
    broker.publish("a", { data: "0" });
    const [zero] = await take(seen, 1);
    broker.unsubscribe(seen);
    for (let i = 1; i <= 50; i++) broker.publish("a", { data: String(i) });
    const back = broker.subscribe("a", { lastEventId: zero?.id });
    const events = await take(back, 50);
    expect(events.map((e) => Number(e.data))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(back.dropped).toBe(0);
  });

  it("property: a resumed client sees exactly the events after its id, in order, without duplicates", async () => {
    const topicArb = fc.constantFrom("a", "b", "c");
    await fc.assert(
      fc.asyncProperty(
        fc.array(topicArb, { minLength: 1, maxLength: 40 }),
        fc.array(topicArb, { minLength: 0, maxLength: 20 }),
        fc.uniqueArray(topicArb, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        async (before, after, topics, pick) => {
          const broker = new EventBroker({ historySize: 100 });
          const all = broker.subscribe(["a", "b", "c"]);
          for (const [i, topic] of before.entries())
            broker.publish(topic, { data: `${topic}${i}` });
          const seen = await take(all, before.length);
          const cut = pick % seen.length;
          const resumed = broker.subscribe(topics, { lastEventId: seen[cut]?.id });
          for (const [i, topic] of after.entries()) {
            broker.publish(topic, { data: `${topic}late${i}` });
          }
          const everything = [...seen, ...(await take(all, after.length))];
          const expected = everything
            .slice(cut + 1)
            .filter((e) => (topics as readonly string[]).includes(e.type!));
          const got = await take(resumed, expected.length);
          expect(got.map((e) => e.data)).toEqual(expected.map((e) => e.data));
          broker.close();
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("explicit ids: resumed exactly or a signalled miss, never a guess", () => {
  it("an id reused on a topic the client does not watch does not hijack its resume", async () => {
    const broker = new EventBroker({ historySize: 10, resumeMissEvent: "resync" });
    for (const n of [1, 2, 3, 4, 5])
      broker.publish("orders", { id: String(n), data: `order ${n}` });
    // invoices reuses id "3" later; the orders client last saw orders' "3".
    for (const n of [1, 2, 3]) broker.publish("invoices", { id: String(n), data: `invoice ${n}` });
    const back = broker.subscribe("orders", { lastEventId: "3" });
    expect((await take(back, 2)).map((e) => e.data)).toEqual(["order 4", "order 5"]);
    expect(broker.stats()).toMatchObject({ resumed: 1, resumeMisses: 0 });
  });

  it("an id that names two retained events of the client's topics is a signalled miss", async () => {
    const broker = new EventBroker({ historySize: 10, resumeMissEvent: "resync" });
    broker.publish("orders", { id: "3", data: "order 3" });
    broker.publish("invoices", { id: "3", data: "invoice 3" });
    broker.publish("orders", { id: "4", data: "order 4" });
    const both = broker.subscribe(["orders", "invoices"], { lastEventId: "3" });
    broker.publish("orders", { id: "5", data: "order 5" });
    const events = await take(both, 2);
    expect(events[0]).toMatchObject({ type: "resync" });
    expect(events[1]).toMatchObject({ data: "order 5" });
    expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 1 });
  });

  it("an id reused within one topic (an entity id on every update) is a signalled miss", async () => {
    const broker = new EventBroker({ historySize: 10, resumeMissEvent: "resync" });
    broker.publish("item", { id: "42", data: "v1" });
    broker.publish("item", { id: "7", data: "other" });
    broker.publish("item", { id: "42", data: "v2" });
    const back = broker.subscribe("item", { lastEventId: "42" });
    broker.publish("item", { id: "8", data: "live" });
    const events = await take(back, 2);
    expect(events.map((e) => e.type === "resync" || e.data)).toEqual([true, "live"]);
    expect(broker.stats().resumeMisses).toBe(1);
  });

  it("once the older duplicate is evicted, the id is unique again and resumes exactly", async () => {
    const broker = new EventBroker({ historySize: 2 });
    broker.publish("item", { id: "42", data: "v1" });
    broker.publish("item", { id: "42", data: "v2" });
    broker.publish("item", { id: "9", data: "after" }); // evicts v1: "42" now names v2 only
    const back = broker.subscribe("item", { lastEventId: "42" });
    expect((await take(back, 1)).map((e) => e.data)).toEqual(["after"]);
    expect(broker.stats()).toMatchObject({ resumed: 1, resumeMisses: 0 });
  });

  it("a crafted broker-style id from the future or another epoch is a miss, not a replay", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const seen = broker.subscribe("a");
    broker.publish("a", { data: "one" });
    const [one] = await take(seen, 1);
    const epoch = one!.id!.split("-")[0];
    for (const crafted of [
      `${epoch}-99`,
      `${epoch}-1.5`,
      `${epoch}--1`,
      `x${epoch}-1`,
      `${epoch}-`,
    ]) {
      broker.subscribe("a", { lastEventId: crafted });
    }
    expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 5 });
  });
});

describe("broker.cursor(): a render-time resume point", () => {
  it("lets a page rendered now receive every later event of its topics on its first connection", async () => {
    const broker = new EventBroker({ historySize: 10 });
    broker.publish("a", { data: "before" });
    const cursor = await broker.cursor();
    expect(cursor).toBeTypeOf("string");
    broker.publish("b", { data: "other topic" });
    broker.publish("a", { data: "between render and connect" });
    const first = broker.subscribe("a", { lastEventId: cursor });
    broker.publish("a", { data: "live" });
    expect((await take(first, 2)).map((e) => e.data)).toEqual([
      "between render and connect",
      "live",
    ]);
    expect(broker.stats()).toMatchObject({ resumed: 1, resumeMisses: 0 });
  });

  it("works before any event was published", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const cursor = await broker.cursor();
    broker.publish("a", { data: "first ever" });
    const first = broker.subscribe("a", { lastEventId: cursor });
    expect((await take(first, 1)).map((e) => e.data)).toEqual(["first ever"]);
  });

  it("is a miss when the topic's events after it were evicted", async () => {
    const broker = new EventBroker({ historySize: 1, resumeMissEvent: "resync" });
    const cursor = await broker.cursor();
    broker.publish("a", { data: "1" });
    broker.publish("a", { data: "2" });
    const late = broker.subscribe("a", { lastEventId: cursor });
    expect((await take(late, 1))[0]).toMatchObject({ type: "resync" });
  });

  it("is undefined without history: there is nothing to resume from", async () => {
    expect(await new EventBroker().cursor()).toBeUndefined();
  });
});
