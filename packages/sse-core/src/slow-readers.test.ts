// Many clients that read slowly or not at all, beside fast ones, while events
// flow over real node:http on 127.0.0.1, under each slow-client policy:
// what the server holds for a stuck client stays bounded (its response buffer
// plus at most bufferSize queued events; the rest is dropped and counted),
// publish() never waits for anyone, fast clients miss nothing, and every
// event a slow reader did not get is one counted in its `dropped`.
import type { ServerResponse } from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import {
  cleanupAfterEach,
  listen,
  type RawClient,
  rawClient,
  recordSubscriptions,
  type TestServer,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import {
  type Client,
  EventBroker,
  encodeEvent,
  handlerFunc,
  type SlowClientPolicy,
} from "./index.js";

const cleanups = cleanupAfterEach();

const STUCK = 30; // never read
const SLOW = 8; // read a little every few milliseconds
const FAST = 5; // read everything
const TOTAL = 1500; // "feed" events of ~1 KB, watched by everyone
const BUFFER_SIZE = 16;
const FILL = "f".repeat(16 * 1024); // "fill" events, watched by stuck and slow clients only

interface Reader {
  raw: RawClient;
  response: ServerResponse;
  client: Client;
}

/** Serves /stuck/N, /slow/N and /fast/N; returns each group's clients with their server side. */
async function setup(slowClient: SlowClientPolicy) {
  const broker = new EventBroker({ bufferSize: BUFFER_SIZE, slowClient });
  cleanups.push(() => broker.close());
  const subscribed = recordSubscriptions(broker);
  const sse = handlerFunc(
    broker,
    (req) => (req.url?.startsWith("/fast") ? "feed" : ["feed", "fill"]),
    { keepaliveMs: 0 },
  );
  const responses = new Map<string, ServerResponse>();
  const server: TestServer = await listen((req, res) => {
    responses.set(req.url ?? "", res);
    sse(req, res);
  });
  cleanups.push(() => server.close());

  // One at a time, so that the n-th subscription is the n-th client.
  const open = async (path: string, read: boolean): Promise<Reader> => {
    const raw = rawClient(server.port, path, { read });
    cleanups.push(() => raw.close());
    await raw.ready;
    await waitFor(() => subscribed.length === responses.size, `the subscription of ${path}`);
    return { raw, response: responses.get(path)!, client: subscribed.at(-1)! };
  };
  const stuck: Reader[] = [];
  for (let i = 0; i < STUCK; i++) stuck.push(await open(`/stuck/${i}`, false));
  const slow: Reader[] = [];
  for (let i = 0; i < SLOW; i++) slow.push(await open(`/slow/${i}`, false));
  const fast: Reader[] = [];
  for (let i = 0; i < FAST; i++) fast.push(await open(`/fast/${i}`, true));
  expect(broker.stats().clients).toBe(STUCK + SLOW + FAST);
  return { broker, stuck, slow, fast };
}

/**
 * Publishes "fill" events until `done()`: the kernel's socket buffers absorb
 * megabytes before Node's own buffer backs up, so this is what makes a
 * non-reading client really stuck. Returns how many were published; every
 * publish returned at once, with a count.
 */
async function fill(broker: EventBroker, done: () => boolean): Promise<number> {
  let published = 0;
  while (!done()) {
    if (published > 20_000) throw new Error("the clients never backed up");
    for (let i = 0; i < 4; i++, published++) {
      expect(typeof broker.publish("fill", { data: FILL })).toBe("number");
    }
    await tick();
  }
  return published;
}

/** Publishes TOTAL numbered feed events in synchronous batches, paced by the fast clients only. */
async function feed(broker: EventBroker, fast: Reader[], onBatch: () => void): Promise<void> {
  const payload = "x".repeat(1000);
  const batch = 10;
  for (let sent = 0; sent < TOTAL; ) {
    // The whole batch is published in one synchronous run: nothing can wait in it.
    for (let i = 0; i < batch; i++, sent++) {
      expect(typeof broker.publish("feed", { data: `${sent} ${payload}` })).toBe("number");
    }
    onBatch();
    await waitFor(
      () => fast.every((f) => f.raw.events.length >= sent),
      `fast clients to receive ${sent} events`,
    );
    onBatch();
  }
}

/** Reads a little every few milliseconds: resume for one turn of the event loop, pause. */
function readSlowly(readers: Reader[]): () => void {
  const timer = setInterval(() => {
    for (const { raw } of readers) {
      raw.socket.resume();
      setImmediate(() => raw.socket.pause());
    }
  }, 5);
  return () => clearInterval(timer);
}

const numbersOf = (raw: RawClient, type: string) =>
  raw.events.filter((e) => e.event === type).map((e) => Number(e.data.split(" ", 1)[0]));
const ascending = (list: number[]) => list.every((n, i) => i === 0 || n > list[i - 1]!);

describe(`${STUCK} stuck and ${SLOW} slow readers beside ${FAST} fast ones`, () => {
  it.each<SlowClientPolicy>(["drop-newest", "drop-oldest"])(
    "%s: bounded memory per stuck client, a publisher that never waits, fast clients miss nothing, every loss counted",
    async (policy) => {
      const { broker, stuck, slow, fast } = await setup(policy);
      const backedUp = (r: Reader) => r.response.writableLength >= r.response.writableHighWaterMark;
      const fills = await fill(broker, () => [...stuck, ...slow].every(backedUp));
      const stopSlowReading = readSlowly(slow);
      cleanups.push(stopSlowReading);

      // What the server may hold for one stuck client: its response buffer
      // (below the high-water mark before the last write, which is one joined
      // chunk of at most the per-tick budget (= hwm) plus one event), plus the
      // ring's bufferSize events; past that, events are dropped. 1 KB covers framing.
      const hwm = stuck[0]!.response.writableHighWaterMark;
      const biggest = encodeEvent({ type: "fill", data: FILL }).length;
      const bound = 2 * hwm + (BUFFER_SIZE + 1) * biggest + 1024;
      let maxHeld = 0;
      await feed(broker, fast, () => {
        for (const r of stuck) maxHeld = Math.max(maxHeld, r.response.writableLength);
      });
      stopSlowReading();

      // Fast clients: everything, in order, nothing dropped.
      const all = Array.from({ length: TOTAL }, (_, i) => i);
      for (const f of fast) {
        expect(numbersOf(f.raw, "feed")).toEqual(all);
        expect(f.client.dropped).toBe(0);
      }
      // Stuck clients: really stuck, held bytes bounded, far below what was published.
      expect(bound * 10).toBeLessThan(TOTAL * 1024 + fills * FILL.length);
      expect(maxHeld).toBeLessThanOrEqual(bound);
      for (const r of stuck) {
        expect(backedUp(r)).toBe(true);
        expect(r.client.dropped).toBeGreaterThan(0);
        expect(r.raw.events).toEqual([]);
      }
      // The broker's accounting: every publish accepted; every loss is a stuck or slow client's.
      const stats = broker.stats();
      expect(stats.published).toBe(fills + TOTAL);
      const lost = [...stuck, ...slow].reduce((sum, r) => sum + r.client.dropped, 0);
      expect(stats.dropped).toBe(lost);
      const handed = fills * (STUCK + SLOW) + TOTAL * (STUCK + SLOW + FAST);
      if (policy === "drop-newest") expect(stats.delivered + stats.dropped).toBe(handed);
      // drop-oldest queues every event (the oldest queued one is what is lost).
      else expect(stats.delivered).toBe(handed);

      // Slow readers, let go: exactly what was not dropped, in order, no duplicates.
      for (const r of slow) r.raw.socket.resume();
      for (const r of slow) {
        const expected = fills + TOTAL - r.client.dropped;
        await waitFor(
          () => r.raw.events.length >= expected,
          `a slow reader's ${expected} kept events (has ${r.raw.events.length})`,
        );
        expect(r.raw.events).toHaveLength(expected);
        const feedNumbers = numbersOf(r.raw, "feed");
        expect(ascending(feedNumbers)).toBe(true);
        // drop-newest keeps the oldest events, drop-oldest the newest.
        if (policy === "drop-oldest") expect(feedNumbers.at(-1)).toBe(TOTAL - 1);
      }
      expect(broker.stats().clients).toBe(STUCK + SLOW + FAST);
    },
  );

  it("disconnect: stuck and slow clients are ended and counted, fast clients miss nothing", async () => {
    const { broker, stuck, slow, fast } = await setup("disconnect");
    const fills = await fill(broker, () => broker.stats().slowDisconnects === STUCK + SLOW);
    await feed(broker, fast, () => {});
    const all = Array.from({ length: TOTAL }, (_, i) => i);
    for (const f of fast) {
      expect(numbersOf(f.raw, "feed")).toEqual(all);
      expect(f.client.dropped).toBe(0);
    }
    expect(fills).toBeGreaterThan(0);
    for (const r of [...stuck, ...slow]) {
      expect(r.client.closed).toBe(true);
      expect(r.response.writableEnded || r.response.destroyed).toBe(true);
    }
    expect(broker.stats()).toMatchObject({
      clients: FAST,
      topics: 1,
      slowDisconnects: STUCK + SLOW,
      published: fills + TOTAL,
    });
    // A stuck client that reads at last finds its stream ended: a browser would reconnect.
    const one = stuck[0]!.raw;
    one.socket.resume();
    await waitFor(() => one.finished, "the end of the stuck client's stream");
  });
});
