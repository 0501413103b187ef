import type { RequestListener } from "node:http";
import {
  blockStream,
  cleanupAfterEach,
  fromFetch,
  listen,
  rawClient,
  readUntil,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { type Client, EventBroker, fetchHandler, handler } from "../index.js";

const cleanups = cleanupAfterEach();

/** Every `drained` call, with the clock when it came. */
interface Drain {
  client: Client;
  seconds: number;
  at: number;
}

async function setup(serve: (broker: EventBroker) => RequestListener) {
  // bufferSize 1: once a stream blocks, its second queued event is dropped, so
  // `dropped` says (as public state) that the stream is blocked; and after a
  // drain at most one event is left to write, far below any buffer: no
  // second block unless the test makes one.
  const broker = new EventBroker({ bufferSize: 1 });
  cleanups.push(() => broker.close());
  const server = await listen(serve(broker));
  cleanups.push(() => server.close());
  const client = rawClient(server.port, "/", { read: false });
  cleanups.push(() => client.close());
  await client.ready;
  await waitFor(() => broker.stats().clients === 1, "the subscription");
  return { broker, client };
}

const transports: [string, (broker: EventBroker) => RequestListener][] = [
  ["node:http (handler)", (broker) => handler(broker, "t", { keepaliveMs: 0 })],
  [
    "fetchHandler (its body read no faster than the socket)",
    (broker) => fromFetch(fetchHandler(broker, "t", { keepaliveMs: 0 })),
  ],
];

describe.each(transports)(
  "broker.observe drained: a stream blocked by a slow client, on %s",
  (_, serve) => {
    it("reports a blocked stream when its client reads again, with the seconds it was blocked, once per blocked period", async () => {
      const { broker, client } = await setup(serve);
      const drains: Drain[] = [];
      broker.observe({
        drained: (c, seconds) => drains.push({ client: c, seconds, at: performance.now() }),
      });
      const started = performance.now();

      for (let round = 1; round <= 2; round++) {
        if (round === 2) client.socket.pause();
        // While the kernel's buffers still grow, the stream may block and drain
        // (and report) a few times before it stays blocked: those are reported too.
        const blocked = await blockStream(broker, "t");
        const before = drains.length;
        const resumed = performance.now();
        await readUntil(broker, "t", client, `after ${round}`);
        // The block the test saw ended once the client read: reported then, with
        // seconds spanning at least from when the test saw it blocked to the read
        // (less a microsecond for floating point).
        const drain = drains.slice(before).find((d) => d.at >= resumed);
        expect(drain, `round ${round}: a drain after the client read`).toBeDefined();
        expect(drain!.client.topics).toEqual(["t"]);
        expect(drain!.seconds * 1000).toBeGreaterThanOrEqual(resumed - blocked - 0.001);
      }
      // Once per blocked period: each reported period began after the previous
      // one ended, and after the test began.
      let previousEnd = started;
      for (const { seconds, at } of drains) {
        expect(at - seconds * 1000).toBeGreaterThanOrEqual(previousEnd - 0.001);
        previousEnd = at;
      }
    });

    it("times no block that began while nobody observed", async () => {
      const { broker, client } = await setup(serve);
      await blockStream(broker, "t");
      const drains: number[] = [];
      broker.observe({ drained: (_c, seconds) => drains.push(seconds) });
      await readUntil(broker, "t", client, "after");
      expect(drains).toEqual([]);
      // Observed from now on: the next block is reported (with those the stream
      // had while the kernel's buffers grew).
      client.socket.pause();
      await blockStream(broker, "t");
      await readUntil(broker, "t", client, "after again");
      expect(drains.length).toBeGreaterThanOrEqual(1);
    });
  },
);
