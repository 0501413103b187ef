// The storm's server under test, in its own process: sse-core's handlerFunc on
// node:http (one topic per client, `/events?topic=room-<t>`), on the in-memory
// broker or a backplane, with the listen backlog raised. Driven by storm.mjs
// over IPC: its port, seeding (in memory: the server publishes its own
// topics' events), memory, broker stats and event-loop delay.
//
// Usage (by storm.mjs only): node --expose-gc lib/storm-server.mjs <engine> <prefix> <historySize> [<checkout>]

import { createServer } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadBurrow } from "./load.mjs";
import { serveParent } from "./proc.mjs";
import { createBackplane } from "./storm-backplane.mjs";
import { eventData, seedTopics, topicName } from "./storm-seed.mjs";

const [engine, prefix, history, checkout] = process.argv.slice(2);
const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
/** Asked of listen(); the kernel caps it at net.core.somaxconn. */
const BACKLOG = Number(process.env.BENCH_STORM_BACKLOG || 8192);

const { EventBroker, handlerFunc } = await loadBurrow("@burrow/sse-core", checkout);
// The backplane's defaults (maxReplays included): the storm measures them.
const backplane = await createBackplane(engine, prefix, checkout);
const broker = new EventBroker({ historySize: Number(history), backplane });
const events = handlerFunc(
  broker,
  (req) => new URL(req.url, "http://x").searchParams.get("topic") ?? "room-0",
  { maxClients: 50_000 },
);
/**
 * The "floor" engine: what node:http alone costs per resuming client on this
 * machine, as a bound on every other row. The broker only seeds; each
 * request is answered by one head and one write of the frames it missed,
 * built when the storm was seeded (no broker, no encoding, no backplane).
 */
let floor;
function serveFloor(req, res) {
  const url = new URL(req.url, "http://x");
  const frames = floor?.get(url.searchParams.get("topic") ?? "");
  const k = frames?.index.get(req.headers["last-event-id"] ?? "");
  if (k === undefined) return void res.writeHead(404).end();
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.write(frames.after(k));
}
/** Every topic's frames, and the bytes after each id, made once. */
function floorFrames(ids, size) {
  return new Map(
    ids.map((topicIds, t) => {
      const name = topicName(t);
      const text = topicIds.map((id, seq) => `id: ${id}\ndata: ${eventData(name, seq, size)}\n\n`);
      const cache = new Map();
      const after = (k) => {
        let bytes = cache.get(k);
        if (bytes === undefined) {
          bytes = Buffer.from(text.slice(k + 1).join(""));
          cache.set(k, bytes);
        }
        return bytes;
      };
      return [name, { index: new Map(topicIds.map((id, seq) => [id, seq])), after }];
    }),
  );
}

const server = createServer((req, res) => {
  if (!req.url.startsWith("/events")) return void res.writeHead(404).end();
  if (engine === "floor") serveFloor(req, res);
  else events(req, res);
});
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
await new Promise((resolve) =>
  server.listen({ host: "127.0.0.1", port: 0, backlog: BACKLOG }, resolve),
);

let delay = monitorEventLoopDelay({ resolution: 10 });

serveParent(
  {
    port: () => ({ port: server.address().port, pid: process.pid, backlog: BACKLOG }),
    /** In memory (and the floor) only: the server publishes the storm's events itself; returns their ids. */
    seed: async ({ topics, perTopic, size }) => {
      // The broker's default bufferSize (16) bounds the in-process subscriber's queue.
      const ids = await seedTopics(broker, { topics, perTopic, size, batch: 8 });
      if (engine === "floor") floor = floorFrames(ids, size);
      return { ids };
    },
    /** After a full GC: RSS, heap used and external. */
    memory: () => {
      globalThis.gc?.();
      globalThis.gc?.();
      const { rss, heapUsed, external } = process.memoryUsage();
      return { rss, heapUsed, external };
    },
    clients: () => ({ clients: broker.stats().clients }),
    /** Starts measuring the event loop's delay afresh. */
    "delay-start": () => {
      delay.disable();
      delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      return {};
    },
    /** The event loop's delay since delay-start, ms, and the broker's stats. */
    report: () => {
      delay.disable();
      const ms = (ns) => ns / 1e6;
      return {
        delay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
        stats: broker.stats(),
      };
    },
  },
  LIFETIME_MS,
);
