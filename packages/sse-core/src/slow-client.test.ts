import type { ServerResponse } from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import {
  cleanupAfterEach,
  listen,
  type RawClient,
  type RecordingEventSource,
  rawClient,
  recordEvents,
  recordSubscriptions,
  type TestServer,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, encodeEvent, handler, handlerFunc } from "./index.js";

const cleanups = cleanupAfterEach();

describe("a slow client beside fast ones", () => {
  it("costs bounded memory and counted drops, while 5 fast clients get all of 3000 1 KB events in order", async () => {
    const bufferSize = 16;
    const broker = new EventBroker({ bufferSize });
    cleanups.push(() => broker.close());
    const subscribed = recordSubscriptions(broker);

    // The slow client also watches "fill", which only it receives (see below).
    const sse = handlerFunc(broker, (req) => (req.url === "/slow" ? ["feed", "fill"] : "feed"), {
      keepaliveMs: 0,
    });
    const responses = new Map<string, ServerResponse>();
    const server: TestServer = await listen((req, res) => {
      responses.set(req.url ?? "", res);
      sse(req, res);
    });
    cleanups.push(() => server.close());

    // The slow client connects first, so it is subscribed[0].
    const slow: RawClient = rawClient(server.port, "/slow", { read: false });
    cleanups.push(() => slow.close());
    await slow.ready;
    await waitFor(() => broker.stats().clients === 1, "the slow subscription");
    const fast: RecordingEventSource[] = [];
    for (let i = 0; i < 5; i++) {
      const client = recordEvents(`${server.url}/fast${i}`, ["feed"]);
      cleanups.push(() => client.close());
      fast.push(client);
    }
    await Promise.all(fast.map((c) => c.opened));
    await waitFor(() => broker.stats().clients === 6, "6 subscriptions");
    const slowResponse = responses.get("/slow")!;
    const hwm = slowResponse.writableHighWaterMark;
    const payload = "x".repeat(1000);
    const batch = 10;

    // The kernel's socket buffers absorb megabytes before Node's own buffer backs up
    // (how many depends on the machine), so first fill them, with events only the slow
    // client gets, until the response holds past its high-water mark: from then on the
    // stream waits for a 'drain' that never comes. State, not time, ends the loop; the
    // cap only turns a client that never backs up into a clear failure.
    let filled = 0;
    while (slowResponse.writableLength < hwm) {
      if (filled > 200_000) throw new Error("the slow client never backed up");
      for (let i = 0; i < batch; i++, filled++) broker.publish("fill", { data: payload });
      await tick();
    }
    expect(broker.stats().dropped).toBe(0);

    const total = 3000;
    const eventSize = encodeEvent({ type: "feed", data: `${total} ${payload}` }).length;
    // What the server may hold for the slow client at any moment, derived from the
    // stream's rules: it writes while res.write() returns true, i.e. until the
    // response's buffer passes writableHighWaterMark (< hwm before the last write);
    // that last write is one joined chunk of at most the per-tick budget (= hwm)
    // plus one event, plus the ring buffer's bufferSize events; past that, events
    // are dropped. 1 KB of slack covers the chunked framing.
    const bound = 2 * hwm + (bufferSize + 1) * eventSize + 1024;
    // Far below what was published, so buffering everything cannot pass.
    expect(bound * 10).toBeLessThan(total * eventSize);

    let maxHeld = 0;
    for (let sent = 0; sent < total; ) {
      for (let i = 0; i < batch; i++, sent++)
        broker.publish("feed", { data: `${sent} ${payload}` });
      maxHeld = Math.max(maxHeld, slowResponse.writableLength);
      // Pace by state, not time: the next batch waits until every fast client has
      // everything published so far.
      await waitFor(
        () => fast.every((c) => c.events.length >= sent),
        `fast clients to receive ${sent} events`,
      );
      maxHeld = Math.max(maxHeld, slowResponse.writableLength);
    }

    const expected = Array.from({ length: total }, (_, i) => i);
    for (const client of fast) {
      expect(client.events.map((e) => Number(e.data.split(" ", 1)[0]))).toEqual(expected);
      expect(client.errors).toBe(0);
    }

    const stats = broker.stats();
    const [slowClient, ...fastClients] = subscribed;
    expect(fastClients.map((c) => c.dropped)).toEqual([0, 0, 0, 0, 0]);
    // The slow client is really stuck (its socket backed up), and every loss is its own.
    expect(slowResponse.writableLength).toBeGreaterThanOrEqual(hwm);
    expect(slowClient!.dropped).toBeGreaterThan(0);
    expect(stats.dropped).toBe(slowClient!.dropped);
    // Each publish reached all 6 clients: either handed over or dropped, never lost silently.
    expect(stats.published).toBe(filled + total);
    expect(stats.delivered + stats.dropped).toBe(filled + 6 * total);
    // Bounded: what the slow client costs does not grow with what is published.
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(bound);

    // When it finally reads, it gets exactly what was not dropped: in order, no duplicates.
    slow.socket.resume();
    const kept = total - slowClient!.dropped;
    const feed = () => slow.events.filter((e) => e.event === "feed");
    await waitFor(() => feed().length >= kept, `the slow client's ${kept} kept events`);
    expect(slow.events.length - feed().length).toBe(filled);
    const numbers = feed().map((e) => Number(e.data.split(" ", 1)[0]));
    expect(numbers).toHaveLength(kept);
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true);
    slow.close();
    await waitFor(() => broker.stats().clients === 5, "the slow client to be unsubscribed");
    expect(slowResponse.destroyed).toBe(true);
  });

  it("does not hold up graceful shutdown: broker.close() then server.close() completes", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const sse = handler(broker, "feed", { keepaliveMs: 0 });
    let response: ServerResponse | undefined;
    const server: TestServer = await listen((req, res) => {
      response = res;
      sse(req, res);
    });
    cleanups.push(() => server.close());
    const slow = rawClient(server.port, "/", { read: false });
    cleanups.push(() => slow.close());
    await slow.ready;
    await waitFor(() => broker.stats().clients === 1, "the subscription");
    const payload = "x".repeat(1000);
    // Back the stuck client up (see above), then queue a few more.
    for (let filled = 0; response!.writableLength < response!.writableHighWaterMark; ) {
      if (filled > 200_000) throw new Error("the slow client never backed up");
      for (let i = 0; i < 10; i++, filled++) broker.publish("feed", { data: payload });
      await tick();
    }
    for (let i = 0; i < 5; i++) broker.publish("feed", { data: payload });

    broker.close();
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    expect(broker.stats().clients).toBe(0);
    expect(response!.writableEnded).toBe(true);
  });
});
