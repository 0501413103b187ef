import { handBackplane, thrownBy, topicAnswer, waitFor } from "@burrow/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Client,
  DEFAULT_BUFFER_SIZE,
  EventBroker,
  handlerFunc,
  type SSEEvent,
  SSEFieldError,
} from "../index.js";

/** Reads the next event, failing the test if the client ended instead. */
async function next(client: Client): Promise<SSEEvent> {
  const result = await client[Symbol.asyncIterator]().next();
  if (result.done) throw new Error("client ended, an event was expected");
  return result.value;
}

/** Reads everything a client yields until it ends (only for a client that will end). */
async function rest(client: Client): Promise<SSEEvent[]> {
  const out: SSEEvent[] = [];
  for await (const event of client) out.push(event);
  return out;
}

/** True once `promise` has settled (checked after letting pending callbacks run). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

/** Runs `fn`, expecting an SSEFieldError, and returns it. */
function fieldError(fn: () => unknown): SSEFieldError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(SSEFieldError);
  return err as SSEFieldError;
}

describe("EventBroker: buffer size", () => {
  it(`defaults to ${DEFAULT_BUFFER_SIZE}`, () => {
    expect(DEFAULT_BUFFER_SIZE).toBe(16);
    expect(new EventBroker().bufferSize).toBe(16);
    expect(new EventBroker({}).bufferSize).toBe(16);
  });

  it.each([0, -1, -100, 0.5])("a number below 1 (%s) becomes 1", (size) => {
    expect(new EventBroker(size).bufferSize).toBe(1);
  });

  it.each([0, -1, -100, 0.5])("an option below 1 (%s) becomes 1", (size) => {
    expect(new EventBroker({ bufferSize: size }).bufferSize).toBe(1);
  });

  it("keeps a valid size in both forms", () => {
    expect(new EventBroker(5).bufferSize).toBe(5);
    expect(new EventBroker({ bufferSize: 32 }).bufferSize).toBe(32);
  });

  it("a broker made with size 0 really holds one event per client", async () => {
    const broker = new EventBroker(0);
    const client = broker.subscribe("t");
    expect(broker.publish("t", { data: "1" })).toBe(1);
    expect(broker.publish("t", { data: "2" })).toBe(0);
    expect(client.dropped).toBe(1);
    expect((await next(client)).data).toBe("1");
  });
});

describe("EventBroker: publish", () => {
  it("sets the type to the topic when it has none, and keeps an explicit one", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("notifications");
    broker.publish("notifications", { data: "a" });
    broker.publish("notifications", { type: "custom", data: "b" });
    broker.publish("notifications", { type: "", data: "c" });
    expect(await next(client)).toEqual({ type: "notifications", data: "a" });
    expect(await next(client)).toEqual({ type: "custom", data: "b" });
    expect(await next(client)).toEqual({ type: "notifications", data: "c" });
  });

  it("does not modify the caller's event", () => {
    const broker = new EventBroker();
    broker.subscribe("t");
    const event = { data: "x" };
    broker.publish("t", event);
    expect(event).toEqual({ data: "x" });
    expect(Object.isFrozen(event)).toBe(false);
  });

  it("delivers the events of every topic of a multi-topic client, in publish order", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe(["a", "b"]);
    broker.publish("a", { data: "1" });
    broker.publish("c", { data: "not mine" });
    broker.publish("b", { data: "2" });
    broker.publish("a", { data: "3" });
    const seen = [await next(client), await next(client), await next(client)];
    expect(seen.map((e) => `${e.type}:${e.data}`)).toEqual(["a:1", "b:2", "a:3"]);
    broker.close();
    expect(await rest(client)).toEqual([]);
  });

  it("collapses duplicate topics: one event is delivered once", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe(["a", "b", "a", "b"]);
    expect(client.topics).toEqual(["a", "b"]);
    expect(broker.publish("a", { data: "once" })).toBe(1);
    broker.close();
    expect(await rest(client)).toEqual([{ type: "a", data: "once" }]);
    expect(broker.stats().delivered).toBe(1);
  });

  it("to a topic with no subscribers returns 0 and keeps nothing", () => {
    const broker = new EventBroker();
    const other = broker.subscribe("other");
    expect(broker.publish("nobody", { data: "x" })).toBe(0);
    expect(broker.stats()).toMatchObject({ clients: 1, topics: 1, delivered: 0, dropped: 0 });
    expect(other.dropped).toBe(0);
  });

  it("returns how many clients it queued the event for", () => {
    const broker = new EventBroker();
    for (let i = 0; i < 3; i++) broker.subscribe("a");
    broker.subscribe("b");
    broker.subscribe(["a", "b"]);
    expect(broker.publish("a", { data: "x" })).toBe(4);
    expect(broker.publish("b", { data: "x" })).toBe(2);
    expect(broker.stats()).toMatchObject({ published: 2, delivered: 6, dropped: 0 });
  });

  it("drops for a full client only, counts it, and a client with room still gets it", async () => {
    const broker = new EventBroker(2);
    const slow = broker.subscribe("t");
    const fast = broker.subscribe("t");
    const fastSeen: string[] = [];
    const counts: number[] = [];
    for (let i = 1; i <= 5; i++) {
      counts.push(broker.publish("t", { data: String(i) }));
      fastSeen.push((await next(fast)).data ?? "");
    }
    expect(counts).toEqual([2, 2, 1, 1, 1]);
    expect(fastSeen).toEqual(["1", "2", "3", "4", "5"]);
    expect(fast.dropped).toBe(0);
    expect(slow.dropped).toBe(3);
    expect(broker.stats()).toMatchObject({ published: 5, delivered: 7, dropped: 3 });
    // The slow client kept the oldest events (drop-newest), and has room again once read.
    expect((await next(slow)).data).toBe("1");
    expect(broker.publish("t", { data: "6" })).toBe(2);
    broker.close();
    expect((await rest(slow)).map((e) => e.data)).toEqual(["2", "6"]);
  });

  it("hands a waiting iterator an event published later", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    const pending = next(client);
    expect(await settled(pending)).toBe(false);
    broker.publish("t", { data: "later" });
    expect((await pending).data).toBe("later");
  });

  it("feeds a running for-await consumer", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    const received: string[] = [];
    const consumer = (async () => {
      for await (const event of client) received.push(event.data ?? "");
    })();
    for (let i = 0; i < 50; i++) {
      broker.publish("t", { data: String(i) });
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => received.length === 50, "50 events");
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(client.dropped).toBe(0);
    broker.close();
    await consumer;
  });

  it("shares one frozen event object between the clients", async () => {
    const broker = new EventBroker();
    const one = broker.subscribe("t");
    const two = broker.subscribe(["t", "u"]);
    broker.publish("t", { data: "shared", id: "1" });
    const [a, b] = [await next(one), await next(two)];
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toEqual({ type: "t", data: "shared", id: "1" });
    expect(() => {
      (a as { data?: string }).data = "changed";
    }).toThrow(TypeError);
  });
});

describe("EventBroker: invalid input", () => {
  it.each<[string, SSEEvent, string]>([
    ["an id with LF", { id: "1\n2", data: "x" }, "id"],
    ["an id with NUL", { id: "1\x002", data: "x" }, "id"],
    ["a type with CR", { type: "a\rb", data: "x" }, "type"],
    ["a negative retry", { retry: -1, data: "x" }, "retry"],
    ["a fractional retry", { retry: 1.5, data: "x" }, "retry"],
    ["non-string data", { data: 5 as unknown as string }, "data"],
  ])("%s throws before any client sees it", async (_name, event, field) => {
    const broker = new EventBroker();
    const one = broker.subscribe("t");
    const two = broker.subscribe("t");
    broker.publish("t", { data: "before" });
    const before = broker.stats();
    expect(fieldError(() => broker.publish("t", event)).field).toBe(field);
    expect(broker.stats()).toEqual(before);
    broker.publish("t", { data: "after" });
    broker.close();
    for (const client of [one, two]) {
      expect((await rest(client)).map((e) => e.data)).toEqual(["before", "after"]);
      expect(client.dropped).toBe(0);
    }
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["undefined", undefined],
    ["a string", "hello"],
    ["a number", 5],
  ])("an event that is %s throws like encodeEvent does, and nobody receives it", (_n, event) => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    const before = broker.stats();
    expect(fieldError(() => broker.publish("t", event as SSEEvent)).field).toBe("data");
    expect(broker.stats()).toEqual(before);
    expect(client.dropped).toBe(0);
  });

  it("an empty topic name to publish throws and changes nothing", () => {
    const broker = new EventBroker();
    broker.subscribe("t");
    const before = broker.stats();
    expect(fieldError(() => broker.publish("", { data: "x" })).field).toBe("topic");
    expect(broker.stats()).toEqual(before);
  });

  it.each<[string, unknown]>([
    ["an empty topic name", ""],
    ["an empty list", []],
    ["a list holding an empty name", ["ok", ""]],
    ["a list holding a non-string", ["ok", 3]],
  ])("subscribe with %s throws SSEFieldError and subscribes nothing", (_name, topics) => {
    const broker = new EventBroker();
    const err = fieldError(() => broker.subscribe(topics as string[]));
    expect(err.field).toBe("topics");
    expect(err.message).toMatch(/^sse: topics/);
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
  });
});

describe("EventBroker: topics its backplane cannot carry", () => {
  const nul = "a\u0000b";
  /** A hand backplane that refuses topics holding NUL, as PostgreSQL's does. */
  const refusing = () =>
    handBackplane("connecting", {}, (topic) =>
      topic.includes("\u0000") ? "the engine cannot store NUL" : undefined,
    );

  it("subscribe, publish and members throw SSEFieldError (field topic, the backplane's reason) before the backplane sees the topic", async () => {
    const hand = refusing();
    const broker = new EventBroker({ backplane: hand.backplane });
    for (const topics of [nul, ["ok", nul]]) {
      const err = fieldError(() => broker.subscribe(topics));
      expect(err).toMatchObject({ field: "topic", value: nul });
      expect(err.message).toBe("sse: topic: the engine cannot store NUL");
    }
    expect(fieldError(() => broker.publish(nul, { data: "x" })).field).toBe("topic");
    await expect(broker.members(nul)).rejects.toMatchObject({ field: "topic" });
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0, published: 0 });
    expect([hand.watched, hand.published]).toEqual([[], []]);
    // Topics it can carry go through as before.
    broker.subscribe(["ok", "a b"]);
    broker.publish("ok", { data: "x" });
    expect([hand.watched, hand.published]).toEqual([["ok", "a b"], ["ok"]]);
    broker.close();
  });

  it("a handler answers 400 for such a topic, even with a topicPattern that lets it through, and subscribes nothing", async () => {
    const hand = refusing();
    const broker = new EventBroker({ backplane: hand.backplane });
    expect(await topicAnswer(handlerFunc, broker, nul)).toEqual({
      status: 400,
      body: "sse: topic: the engine cannot store NUL",
    });
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    expect(hand.watched).toEqual([]);
    broker.close();
  });
});

describe("EventBroker: unsubscribe", () => {
  it("ends the client, resolves done, and nothing arrives after it", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe(["a", "b"]);
    expect(client.closed).toBe(false);
    expect(await settled(client.done)).toBe(false);
    broker.unsubscribe(client);
    expect(client.closed).toBe(true);
    await client.done;
    expect(broker.publish("a", { data: "late" })).toBe(0);
    expect(client.dropped).toBe(0);
    expect(await client[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
  });

  it("discards what was queued", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    broker.publish("t", { data: "1" });
    broker.publish("t", { data: "2" });
    broker.unsubscribe(client);
    expect(await rest(client)).toEqual([]);
  });

  it("ends an iterator that is waiting", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    const pending = client[Symbol.asyncIterator]().next();
    broker.unsubscribe(client);
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it("twice is harmless", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    const other = broker.subscribe("t");
    broker.unsubscribe(client);
    broker.unsubscribe(client);
    await client.done;
    expect(broker.stats()).toMatchObject({ clients: 1, topics: 1 });
    expect(broker.publish("t", { data: "x" })).toBe(1);
    expect(other.closed).toBe(false);
  });

  it("ignores a client of another broker", () => {
    const broker = new EventBroker();
    const elsewhere = new EventBroker().subscribe("t");
    broker.subscribe("t");
    broker.unsubscribe(elsewhere);
    expect(elsewhere.closed).toBe(false);
    expect(broker.stats().clients).toBe(1);
  });

  it("forgets a topic once its last client leaves", () => {
    const broker = new EventBroker();
    const one = broker.subscribe(["a", "b"]);
    const two = broker.subscribe(["b", "c"]);
    expect(broker.stats()).toMatchObject({ clients: 2, topics: 3 });
    broker.unsubscribe(one);
    expect(broker.stats()).toMatchObject({ clients: 1, topics: 2 });
    broker.unsubscribe(two);
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    expect(broker.publish("b", { data: "x" })).toBe(0);
  });

  it("happens when a for-await loop breaks", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    broker.publish("t", { data: "1" });
    broker.publish("t", { data: "2" });
    for await (const event of client) {
      expect(event.data).toBe("1");
      break;
    }
    expect(client.closed).toBe(true);
    await client.done;
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    expect(await rest(client)).toEqual([]);
  });

  it("happens when iterator.return() is called", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    const iterator = client[Symbol.asyncIterator]();
    expect(await iterator.return?.()).toEqual({ done: true, value: undefined });
    expect(client.closed).toBe(true);
    expect(broker.stats().clients).toBe(0);
  });

  it("from inside another client's loop is safe", async () => {
    const broker = new EventBroker();
    const watcher = broker.subscribe("t");
    const victim = broker.subscribe("t");
    const seen: string[] = [];
    const loop = (async () => {
      for await (const event of watcher) {
        seen.push(event.data ?? "");
        if (event.data === "kick") broker.unsubscribe(victim);
      }
    })();
    broker.publish("t", { data: "kick" });
    await waitFor(() => victim.closed, "victim unsubscribed");
    expect(broker.publish("t", { data: "after" })).toBe(1);
    await waitFor(() => seen.length === 2, "two events");
    expect(seen).toEqual(["kick", "after"]);
    broker.close();
    await loop;
  });
});

describe("EventBroker: close", () => {
  it("ends every client; each iterator yields what was queued, then finishes", async () => {
    const broker = new EventBroker();
    const one = broker.subscribe("a");
    const two = broker.subscribe(["a", "b"]);
    const idle = broker.subscribe("c");
    const waiting = idle[Symbol.asyncIterator]().next();
    broker.publish("a", { data: "1" });
    broker.publish("b", { data: "2" });
    expect(broker.closed).toBe(false);
    broker.close();
    expect(broker.closed).toBe(true);
    await Promise.all([one.done, two.done, idle.done]);
    expect([one.closed, two.closed, idle.closed]).toEqual([true, true, true]);
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect((await rest(one)).map((e) => e.data)).toEqual(["1"]);
    expect((await rest(two)).map((e) => e.data)).toEqual(["1", "2"]);
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
  });

  it("twice is harmless", async () => {
    const broker = new EventBroker();
    const client = broker.subscribe("t");
    broker.close();
    broker.close();
    await client.done;
    expect(broker.closed).toBe(true);
  });

  it("makes publish a silent no-op that returns 0", () => {
    const broker = new EventBroker();
    broker.subscribe("t");
    broker.publish("t", { data: "x" });
    broker.close();
    const before = broker.stats();
    expect(broker.publish("t", { data: "late" })).toBe(0);
    expect(broker.stats()).toEqual(before);
  });

  it("makes subscribe return a client that is already done", async () => {
    const broker = new EventBroker();
    broker.close();
    const client = broker.subscribe(["a", "b"]);
    expect(client.closed).toBe(true);
    expect(client.topics).toEqual(["a", "b"]);
    expect(await settled(client.done)).toBe(true);
    expect(await rest(client)).toEqual([]);
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    broker.unsubscribe(client); // harmless
  });

  it("after an unsubscribe leaves the unsubscribed client alone", async () => {
    const broker = new EventBroker();
    const gone = broker.subscribe("t");
    const stays = broker.subscribe("t");
    broker.publish("t", { data: "x" });
    broker.unsubscribe(gone);
    broker.close();
    expect(await rest(gone)).toEqual([]);
    expect((await rest(stays)).map((e) => e.data)).toEqual(["x"]);
  });
});

describe("EventBroker: stats", () => {
  it("starts at zero and counts clients, topics, publishes, deliveries and drops", async () => {
    const broker = new EventBroker(1);
    expect(broker.stats()).toMatchObject({
      clients: 0,
      topics: 0,
      published: 0,
      delivered: 0,
      dropped: 0,
    });
    const one = broker.subscribe(["a", "b"]);
    broker.subscribe("a");
    broker.publish("a", { data: "1" }); // 2 delivered
    broker.publish("a", { data: "2" }); // both full: 2 dropped
    broker.publish("b", { data: "3" }); // one full: 1 dropped
    broker.publish("z", { data: "4" }); // nobody
    const stats = broker.stats();
    expect(stats).toMatchObject({ clients: 2, topics: 2, published: 4, delivered: 2, dropped: 3 });
    for (const key of ["clients", "topics", "published", "delivered", "dropped"] as const) {
      expect(typeof stats[key]).toBe("number");
    }
    expect(one.dropped).toBe(2);
    // A snapshot: it does not change under the caller's feet.
    await next(one);
    broker.publish("b", { data: "5" });
    expect(stats.delivered).toBe(2);
    expect(broker.stats().delivered).toBe(3);
  });
});

// Model-based: random sequences of subscribe / publish / take / unsubscribe /
// close, checked against a plain model of what each client must hold.
type Step =
  | { kind: "subscribe"; topics: string[] }
  | { kind: "publish"; topic: string }
  | { kind: "take"; client: number }
  | { kind: "unsubscribe"; client: number }
  | { kind: "close" };

const TOPICS = ["a", "b", "c"];
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(fc.constantFrom(...TOPICS), { minLength: 1, maxLength: 4 })
      .map((topics) => ({ kind: "subscribe" as const, topics })),
  },
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(...TOPICS, "d")
      .map((topic) => ({ kind: "publish" as const, topic })),
  },
  { weight: 4, arbitrary: fc.nat().map((client) => ({ kind: "take" as const, client })) },
  { weight: 2, arbitrary: fc.nat().map((client) => ({ kind: "unsubscribe" as const, client })) },
  { weight: 1, arbitrary: fc.constant({ kind: "close" as const }) },
);

interface ModelClient {
  client: Client;
  topics: Set<string>;
  open: boolean;
  queue: number[];
  received: number[];
  dropped: number;
}

describe("EventBroker: model-based", () => {
  it("keeps its invariants under any sequence of operations", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(stepArb, { maxLength: 60 }),
        async (bufferSize, steps) => {
          const broker = new EventBroker(bufferSize);
          const clients: ModelClient[] = [];
          let closed = false;
          let seq = 0;
          let published = 0;
          let handed = 0; // sum over accepted publishes of the topic's subscribers

          const check = () => {
            const open = clients.filter((c) => c.open);
            const stats = broker.stats();
            expect(stats.clients).toBe(open.length);
            expect(stats.topics).toBe(new Set(open.flatMap((c) => [...c.topics])).size);
            expect(stats.published).toBe(published);
            expect(stats.delivered + stats.dropped).toBe(handed);
            expect(stats.dropped).toBe(clients.reduce((sum, c) => sum + c.dropped, 0));
            for (const c of clients) {
              expect(c.client.closed).toBe(!c.open);
              expect(c.client.dropped).toBe(c.dropped);
            }
          };

          for (const step of steps) {
            if (step.kind === "subscribe") {
              const client = broker.subscribe(step.topics);
              expect(client.topics).toEqual([...new Set(step.topics)]);
              clients.push({
                client,
                topics: new Set(step.topics),
                open: !closed,
                queue: [],
                received: [],
                dropped: 0,
              });
            } else if (step.kind === "publish") {
              const id = seq++;
              const subscribers = clients.filter((c) => c.open && c.topics.has(step.topic));
              let expected = 0;
              for (const c of subscribers) {
                if (c.queue.length < bufferSize) {
                  c.queue.push(id);
                  expected++;
                } else c.dropped++;
              }
              if (!closed) {
                published++;
                handed += subscribers.length;
              }
              expect(broker.publish(step.topic, { data: String(id) })).toBe(expected);
            } else if (step.kind === "take" && clients.length > 0) {
              const c = clients[step.client % clients.length]!;
              // An open client with nothing queued would wait: skip it.
              if (c.queue.length > 0 || !c.open) {
                const result = await c.client[Symbol.asyncIterator]().next();
                const want = c.queue.shift();
                if (want === undefined) expect(result.done).toBe(true);
                else {
                  expect(result.value?.data).toBe(String(want));
                  c.received.push(want);
                }
              }
            } else if (step.kind === "unsubscribe" && clients.length > 0) {
              const c = clients[step.client % clients.length]!;
              broker.unsubscribe(c.client);
              if (c.open) {
                c.open = false;
                c.queue = [];
              }
            } else if (step.kind === "close") {
              broker.close();
              closed = true;
              for (const c of clients) c.open = false;
            }
            check();
          }

          // End everything: each client yields exactly its model queue, then ends.
          broker.close();
          for (const c of clients) {
            const tail = (await rest(c.client)).map((e) => Number(e.data));
            expect(tail).toEqual(c.queue);
            const all = [...c.received, ...tail];
            // Publish order: strictly increasing sequence numbers.
            for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);
          }
          await Promise.all(clients.map((c) => c.client.done));
        },
      ),
      { numRuns: 300 },
    );
  });
});
