// One SSE server under test, in its own process, driven by run.mjs over IPC.
// Usage (by run.mjs only): node --expose-gc server.mjs <kind> [<checkout>]
// With <checkout> (bench --against), the @burrow packages are loaded from that
// checkout's builds (packages/*/dist) instead of by name from this one.
//
// Every kind serves GET /events on 127.0.0.1 and exposes the same commands:
// clients, memory, burst, one, ticks, paced, flood, stats. With
// BENCH_CONVERGE=rules or plain, the sse-core server is the converge
// scenario's (lib/converge-server.mjs), with its converge-* commands.

import { createServer } from "node:http";
import { builtEntry } from "./lib/load.mjs";
import { now, serveParent } from "./lib/proc.mjs";

const [kind, checkout] = process.argv.slice(2);
const TOPIC = "bench";
const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
const PAD = "x".repeat(64 * 1024);

/** An event's data: its sequence number, the publish time, padding up to `size` characters. */
function payload(seq, size) {
  const head = `s=${seq} t=${now().toFixed(3)} `;
  return head.length >= size ? head : head + PAD.slice(0, size - head.length);
}

/** The wire bytes the raw loops send for one event (what sse-core writes for the same event). */
function encodeRaw(data) {
  return Buffer.from(`event: ${TOPIC}\ndata: ${data}\n\n`);
}

const RAW_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache",
  Connection: "keep-alive",
};

/**
 * Imports a `@burrow/*` package: from `checkout`'s builds when one was given,
 * else by name; BENCH_CORE_MODULE replaces sse-core for the `sse-core` server
 * (ablations).
 */
function load(name) {
  if (checkout !== undefined) return import(builtEntry(checkout, name));
  if (name === "@burrow/sse-core" && kind === "sse-core")
    return import(process.env.BENCH_CORE_MODULE ?? name);
  return import(name);
}

/**
 * Builds the server of `kind`: returns the node:http request listener, a
 * client counter, `publish(data)` for one event and `publishMany(datas)` for a
 * burst published back to back in one tick.
 */
async function build(kind) {
  const converge = process.env.BENCH_CONVERGE;
  if (kind === "sse-core" && converge !== undefined) {
    const { convergeServer } = await import("./lib/converge-server.mjs");
    const core = await load("@burrow/sse-core");
    return convergeServer(core, { rules: converge === "rules", payload, maxClients: 50_000 });
  }
  if (kind.startsWith("sse-")) {
    const core = await load("@burrow/sse-core");
    const { EventBroker } = core;
    const broker = new EventBroker();
    const options = { maxClients: 50_000 };
    let listener;
    if (kind === "sse-core") {
      const { handler } = core;
      const events = handler(broker, TOPIC, options);
      listener = (req, res) => {
        if (req.url === "/events") events(req, res);
        else res.writeHead(404).end();
      };
    } else if (kind === "sse-express") {
      const { default: express } = await import("express");
      const { handler } = await load("@burrow/sse-express");
      const app = express();
      app.get("/events", handler(broker, TOPIC, options));
      listener = app;
    } else if (kind === "sse-fastify") {
      // fastify's own request handler, mounted on this file's node:http server.
      const { default: Fastify } = await import("fastify");
      const { handler } = await load("@burrow/sse-fastify");
      let fastifyListener;
      const app = Fastify({
        serverFactory: (handle) => {
          fastifyListener = handle;
          return createServer(handle);
        },
      });
      app.get("/events", handler(broker, TOPIC, options));
      await app.ready();
      listener = fastifyListener;
    } else if (kind === "sse-koa") {
      const { default: Koa } = await import("koa");
      const { default: Router } = await import("@koa/router");
      const { handler } = await load("@burrow/sse-koa");
      const app = new Koa();
      const router = new Router();
      router.get("/events", handler(broker, TOPIC, options));
      app.use(router.routes());
      listener = app.callback();
    } else {
      throw new Error(`unknown server kind ${kind}`);
    }
    const publish = (data) => broker.publish(TOPIC, { data });
    return {
      listener,
      clients: () => broker.stats().clients,
      publish,
      publishMany: (datas) => {
        for (const data of datas) publish(data);
      },
      stats: () => broker.stats(),
    };
  }

  if (kind === "better-sse") {
    // As its docs recommend for fan-out: one channel, each session registered, broadcast.
    const { createChannel, createSession } = await import("better-sse");
    const channel = createChannel();
    const publish = (data) => channel.broadcast(data, TOPIC);
    return {
      listener: async (req, res) => {
        if (req.url !== "/events") {
          res.writeHead(404).end();
          return;
        }
        const session = await createSession(req, res);
        channel.register(session);
      },
      clients: () => channel.sessionCount,
      publish,
      publishMany: (datas) => {
        for (const data of datas) publish(data);
      },
      stats: () => ({}),
    };
  }

  if (kind === "raw" || kind === "raw-join") {
    // The hand-written loop: encode once, res.write to every client, no backpressure.
    const clients = new Set();
    const publishChunk = (chunk) => {
      for (const res of clients) res.write(chunk);
    };
    return {
      listener: (req, res) => {
        if (req.url !== "/events") {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, RAW_HEADERS);
        res.flushHeaders();
        clients.add(res);
        res.on("close", () => clients.delete(res));
      },
      clients: () => clients.size,
      publish: (data) => publishChunk(encodeRaw(data)),
      publishMany:
        kind === "raw"
          ? (datas) => {
              for (const data of datas) publishChunk(encodeRaw(data));
            }
          : // The same loop joining a burst into one write per client.
            (datas) => publishChunk(Buffer.concat(datas.map(encodeRaw))),
      stats: () => ({}),
    };
  }

  throw new Error(`unknown server kind ${kind}`);
}

const impl = await build(kind);
const server = createServer(impl.listener);
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
await new Promise((resolve) =>
  server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, resolve),
);

function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, rss: m.rss };
}

const immediate = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let seq = 0;

serveParent(
  {
    ...impl.commands,
    port: () => ({ port: server.address().port }),
    clients: () => ({ clients: impl.clients() }),
    memory: () => memory(),
    stats: () => ({ stats: impl.stats() }),
    cpu: () => ({ cpu: process.cpuUsage() }),
    /** `k` events published back to back in one tick. */
    burst: ({ k, size }) => {
      const t0 = now();
      const datas = [];
      for (let i = 0; i < k; i++) datas.push(payload(seq++, size));
      impl.publishMany(datas);
      return { t0, t1: now() };
    },
    /**
     * One event, and the server's fan-out time: from publish until every
     * client's bytes were handed to the kernel (by the next setImmediate, as
     * in `paced`).
     */
    one: async ({ size }) => {
      const t0 = now();
      impl.publish(payload(seq++, size));
      await immediate();
      return { t0, t1: now() };
    },
    /** `k` events, one per event-loop turn (nothing can be joined). */
    ticks: async ({ k, size }) => {
      const t0 = now();
      for (let i = 0; i < k; i++) {
        impl.publish(payload(seq++, size));
        await immediate();
      }
      return { t0, t1: now() };
    },
    /** `k` events, one every `intervalMs` (latency: the publish time is in the payload). */
    paced: async ({ k, size, intervalMs }) => {
      const t0 = now();
      // Server-side fan-out time of each event: from publish until every
      // client's bytes were handed to the kernel (sse-core writes in a
      // microtask; res.write corks and writes in a nextTick: both are done
      // by the next setImmediate).
      const fanout = [];
      for (let i = 0; i < k; i++) {
        const start = now();
        impl.publish(payload(seq++, size));
        await immediate();
        fanout.push(now() - start);
        await sleep(intervalMs);
      }
      fanout.sort((a, b) => a - b);
      const at = (q) => fanout[Math.min(fanout.length - 1, Math.floor(q * fanout.length))];
      return { t0, t1: now(), fanoutP50: at(0.5), fanoutP99: at(0.99) };
    },
    /** `k` events of `size` in batches of `batch` per timer tick (the stuck-client scenario). */
    flood: async ({ k, size, batch, intervalMs }) => {
      const t0 = now();
      for (let i = 0; i < k; i += batch) {
        const datas = [];
        for (let j = i; j < Math.min(k, i + batch); j++) datas.push(payload(seq++, size));
        for (const data of datas) impl.publish(data);
        await sleep(intervalMs);
      }
      return { t0, t1: now() };
    },
  },
  LIFETIME_MS,
);
