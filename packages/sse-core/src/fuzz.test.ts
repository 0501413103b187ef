// Property-based fuzzing with fast-check, beyond encode.test.ts and the
// model test of broker.test.ts: the encoder against an independent parser
// fed in random chunks, every kind of invalid field, the same over a real
// HTTP stream, and the broker's whole public surface (every slow-client
// policy, history, invalid input, iteration, return(), close) against a model.
import { listen, rawClient, type TestServer, waitFor } from "@burrow/test-utils";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Client,
  EventBroker,
  encodeComment,
  encodeEvent,
  handler,
  type SlowClientPolicy,
  type SSEEvent,
  SSEFieldError,
} from "./index.js";
import { eventArb, fieldArb, optional, textArb } from "./testing/arbitraries.js";

/** What a spec parser must report for `event`. */
function expected(event: SSEEvent): EventSourceMessage {
  return {
    id: event.id === "" ? undefined : event.id,
    event: event.type === "" ? undefined : event.type,
    data: (event.data ?? "").replace(/\r\n|\r|\n/g, "\n"),
  };
}

/** Feeds `wire` to eventsource-parser cut at `cuts` (relative positions), collecting everything. */
function parseInChunks(wire: string, cuts: readonly number[]) {
  const events: EventSourceMessage[] = [];
  const retries: number[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onRetry: (retry) => retries.push(retry),
    onError: (err) => {
      throw err;
    },
  });
  const positions = [...new Set(cuts.map((c) => Math.floor(c * wire.length)))].sort(
    (a, b) => a - b,
  );
  let from = 0;
  for (const at of [...positions, wire.length]) {
    parser.feed(wire.slice(from, at));
    from = at;
  }
  return { events, retries };
}

describe("fuzz: encoder", () => {
  it("a stream of encoded events and comments, parsed in random chunks, yields exactly those events", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            eventArb,
            textArb.map((comment) => ({ comment })),
          ),
          { maxLength: 16 },
        ),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        (items, cuts) => {
          const wire = items
            .map((item) => ("comment" in item ? encodeComment(item.comment) : encodeEvent(item)))
            .join("");
          const events = items.filter((item): item is SSEEvent => !("comment" in item));
          const parsed = parseInChunks(wire, cuts);
          expect(parsed.events).toEqual(events.map(expected));
          expect(parsed.retries).toEqual(events.filter((e) => e.retry).map((e) => e.retry));
        },
      ),
      { numRuns: 400 },
    );
  });

  const bad = fc.oneof(
    fc.record({
      field: fc.constantFrom("id" as const, "type" as const),
      value: fc
        .tuple(fieldArb, fc.constantFrom("\r", "\n", "\0", "\r\n"), fieldArb)
        .map(([a, b, c]) => `${a}${b}${c}`),
    }),
    fc.record({
      field: fc.constantFrom("id" as const, "type" as const, "data" as const),
      value: fc.oneof(
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.constant({ toString: () => "x" }),
        fc.constant(["a"]),
        fc.constant(Symbol("s")),
      ),
    }),
    fc.record({
      field: fc.constant("retry" as const),
      value: fc.oneof(
        fc.integer({ max: -1 }),
        fc.double({ noInteger: true }),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "5", null, true),
      ),
    }),
  );
  const keyOf = { id: "id", type: "type", data: "data", retry: "retry" } as const;

  it("any invalid field throws SSEFieldError naming it, from encodeEvent and from publish", () => {
    fc.assert(
      fc.property(bad, eventArb, ({ field, value }, base) => {
        // Only the bad key is invalid: the rest of the event is valid.
        const event = { ...base, [keyOf[field]]: value } as SSEEvent;
        const attempts: (() => unknown)[] = [() => encodeEvent(event)];
        // publish defaults a missing type to the topic, and treats a falsy one (false, 0, null) as missing.
        if (field === "type" && !value) {
          const broker = new EventBroker();
          broker.subscribe("topic");
          expect(broker.publish("topic", event)).toBe(1);
        } else attempts.push(() => new EventBroker().publish("topic", event));
        for (const attempt of attempts) {
          let thrown: unknown;
          try {
            attempt();
          } catch (err) {
            thrown = err;
          }
          expect(SSEFieldError.isInstance(thrown)).toBe(true);
          expect((thrown as SSEFieldError).field).toBe(field);
          expect((thrown as SSEFieldError).message).toMatch(new RegExp(`^sse: ${field}: `));
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe("fuzz: events over a real HTTP stream", () => {
  let server: TestServer;
  const broker = new EventBroker({ bufferSize: 4096 });
  beforeAll(async () => {
    server = await listen(handler(broker, "fuzz", { keepaliveMs: 0 }));
  });
  afterAll(async () => {
    broker.close();
    await server.close();
  });

  it("whatever is published reaches a spec client as exactly those events, nothing forged", async () => {
    const client = rawClient(server.port, "/");
    await client.ready;
    await waitFor(() => broker.stats().clients === 1, "the subscription");
    let seen = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 20 }), async (events) => {
        for (const event of events) broker.publish("fuzz", event);
        seen += events.length;
        await waitFor(() => client.events.length >= seen, `${seen} events`);
        const got = client.events.slice(seen - events.length);
        expect(client.events).toHaveLength(seen);
        expect(got).toEqual(
          events.map((event) => expected({ ...event, type: event.type || "fuzz" })),
        );
      }),
      { numRuns: 60 },
    );
    expect(broker.stats().dropped).toBe(0);
    client.close();
  });
});

// ---------------------------------------------------------------------------
// The broker's public surface against a model.

const TOPICS = ["a", "b", "c", "ü/../x"] as const;
const topicArb = fc.constantFrom(...TOPICS);
const badTopicsArb = fc.constantFrom<unknown>([], [""], "", [5], null, ["a", ""], [undefined]);

const stepArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("subscribe" as const),
      topics: fc.array(topicArb, { minLength: 1, maxLength: 3 }),
      lastEventId: optional(fc.oneof(fc.string({ maxLength: 6 }), fc.constant("0-1"))),
    }),
  },
  {
    weight: 1,
    arbitrary: badTopicsArb.map((topics) => ({ kind: "badSubscribe" as const, topics })),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("publish" as const),
      topic: fc.constantFrom(...TOPICS, "nobody"),
      type: optional(fc.constantFrom("t", "")),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("badPublish" as const),
      topic: fc.constantFrom<unknown>("a", "", 7),
      event: fc.constantFrom<unknown>(
        null,
        "x",
        { id: "1\n" },
        { type: "\r" },
        { retry: -1 },
        { data: 3 },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.nat().map((n) => ({ kind: "next" as const, n })) },
  { weight: 1, arbitrary: fc.nat().map((n) => ({ kind: "return" as const, n })) },
  { weight: 2, arbitrary: fc.nat().map((n) => ({ kind: "unsubscribe" as const, n })) },
  { weight: 1, arbitrary: fc.constant({ kind: "foreign" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "close" as const }) },
);

interface Model {
  client: Client;
  iterator: AsyncIterator<SSEEvent>;
  topics: Set<string>;
  open: boolean;
  queue: string[];
  dropped: number;
}

/** Lets microtasks run (the "disconnect" policy ends a client in one). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function expectFieldError(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(SSEFieldError.isInstance(thrown)).toBe(true);
}

describe("fuzz: broker public surface against a model", () => {
  it("stats(), each client's state and every yielded event match the model after every step", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom<SlowClientPolicy>("drop-newest", "drop-oldest", "disconnect"),
        fc.constantFrom(0, 4),
        fc.array(stepArb, { maxLength: 50 }),
        async (bufferSize, slowClient, historySize, steps) => {
          const broker = new EventBroker({ bufferSize, slowClient, historySize });
          const models: Model[] = [];
          let closed = false;
          let seq = 0;
          const count = {
            published: 0,
            delivered: 0,
            dropped: 0,
            slow: 0,
            misses: 0,
            opened: 0,
          };

          const check = () => {
            const open = models.filter((m) => m.open);
            expect(broker.stats()).toEqual({
              clients: open.length,
              topics: new Set(open.flatMap((m) => [...m.topics])).size,
              published: count.published,
              delivered: count.delivered,
              dropped: count.dropped,
              resumed: 0,
              resumeMisses: count.misses,
              slowDisconnects: count.slow,
              // No topic rules here: nothing conflates, nothing is repaired.
              conflated: 0,
              snapshots: { miss: 0, restart: 0, overflow: 0, connect: 0 },
              snapshotRenders: 0,
              snapshotFailures: 0,
              opened: count.opened,
              closed: expect.objectContaining({ slow: count.slow }),
              refused: { limit: 0, authorize: 0, bad_request: 0, error: 0 },
              members: 0,
            });
            const { closed: ended } = broker.stats();
            expect(ended.client + ended.slow + ended.shutdown).toBe(count.opened - open.length);
            expect(broker.closed).toBe(closed);
            for (const m of models) {
              expect(m.client.closed).toBe(!m.open);
              expect(m.client.dropped).toBe(m.dropped);
            }
          };
          const pick = (n: number) => models[n % models.length];

          for (const step of steps) {
            switch (step.kind) {
              case "subscribe": {
                const client = broker.subscribe(step.topics, { lastEventId: step.lastEventId });
                // Broker-assigned ids are "<epoch>-<seq>": a guessed one never resumes.
                if (!closed && historySize > 0 && step.lastEventId) count.misses++;
                if (!closed) count.opened++;
                models.push({
                  client,
                  iterator: client[Symbol.asyncIterator](),
                  topics: new Set(step.topics),
                  open: !closed,
                  queue: [],
                  dropped: 0,
                });
                break;
              }
              case "badSubscribe":
                expectFieldError(() => broker.subscribe(step.topics as string[]));
                break;
              case "publish": {
                const data = String(seq++);
                let queued = 0;
                if (!closed) {
                  count.published++;
                  for (const m of models) {
                    if (!m.open || !m.topics.has(step.topic)) continue;
                    if (m.queue.length < bufferSize) {
                      m.queue.push(data);
                      queued++;
                      continue;
                    }
                    m.dropped++;
                    count.dropped++;
                    if (slowClient === "drop-oldest") {
                      m.queue.shift();
                      m.queue.push(data);
                      queued++;
                    } else if (slowClient === "disconnect") {
                      // Ended in a microtask, once: what it had queued is discarded.
                      m.open = false;
                      m.queue = [];
                      count.slow++;
                    }
                  }
                  count.delivered += queued;
                }
                const event = step.type === undefined ? { data } : { data, type: step.type };
                expect(broker.publish(step.topic, event)).toBe(queued);
                await settle();
                break;
              }
              case "badPublish":
                if (closed) {
                  expect(broker.publish(step.topic as string, step.event as SSEEvent)).toBe(0);
                } else {
                  expectFieldError(() =>
                    broker.publish(step.topic as string, step.event as SSEEvent),
                  );
                }
                break;
              case "next": {
                const m = pick(step.n);
                // An open client with nothing queued would wait for the next publish: skip it.
                if (m === undefined || (m.open && m.queue.length === 0)) break;
                const result = await m.iterator.next();
                const want = m.queue.shift();
                if (want === undefined) expect(result.done).toBe(true);
                else expect(result.value?.data).toBe(want);
                break;
              }
              case "return": {
                const m = pick(step.n);
                if (m === undefined) break;
                await m.iterator.return?.();
                if (m.open) {
                  m.open = false;
                  m.queue = [];
                }
                break;
              }
              case "unsubscribe": {
                const m = pick(step.n);
                if (m === undefined) break;
                broker.unsubscribe(m.client);
                if (m.open) {
                  m.open = false;
                  m.queue = [];
                }
                break;
              }
              case "foreign":
                // A client of another broker, and things that are not clients at all, are ignored.
                broker.unsubscribe(new EventBroker().subscribe("a"));
                broker.unsubscribe({} as Client);
                break;
              case "close":
                broker.close();
                if (!closed) for (const m of models) m.open = false;
                closed = true;
                break;
            }
            check();
          }

          broker.close();
          for (const m of models) {
            const rest: string[] = [];
            for (;;) {
              const result = await m.iterator.next();
              if (result.done) break;
              rest.push(result.value.data ?? "");
            }
            expect(rest).toEqual(m.queue);
            await m.client.done;
          }
          expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
        },
      ),
      { numRuns: 250 },
    );
  });
});
