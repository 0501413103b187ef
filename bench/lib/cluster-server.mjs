// One of the K server processes of the cluster scenario (bench/cluster.mjs):
// sse-core's handler on node:http, its broker on the backplane under test
// (BENCH_ENGINE redis, redis-cluster or postgres, BENCH_PREFIX of its own
// run), driven over IPC: port, clients, usage (CPU and memory), burst, paced.
// Every client subscribes to all of BENCH_TOPICS (default one topic) and the
// events go to them in turn, so each client gets every event once.

import { createServer } from "node:http";
import { EventBroker, handler } from "@burrow/sse-core";
import { backplaneFor } from "./backplane-engines.mjs";
import { now, serveParent } from "./proc.mjs";

const TOPICS = (process.env.BENCH_TOPICS || "bench").split(",");
const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
const engine = process.env.BENCH_ENGINE;
const prefix = process.env.BENCH_PREFIX;
const PAD = "x".repeat(64);
/** A tag of this process in each event's data, so the sequence numbers of two publishers differ. */
const tag = process.env.BENCH_TAG ?? "0";

const backplane = await backplaneFor(engine, prefix);
// bufferSize above any burst: the scenario measures throughput, not what a
// client that falls behind loses (a client's ring grows only as it fills).
const broker = new EventBroker({ historySize: 100, bufferSize: 100_000, backplane });
const events = handler(broker, TOPICS, { maxClients: 50_000 });
const server = createServer((req, res) => {
  if (req.url === "/events") events(req, res);
  else res.writeHead(404).end();
});
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
await new Promise((resolve) =>
  server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, resolve),
);
// Ready once the backplane is: a publish before it would reach this process only.
await backplane.ready?.();

let seq = 0;
/** An event's data: this process's tag and sequence number, the publish time, 64 B of padding. */
const payload = () => `p=${tag} s=${seq++} t=${now().toFixed(3)} ${PAD}`;
/** The topic of the next event: each in turn. */
const topic = () => TOPICS[seq % TOPICS.length];
const immediate = () => new Promise((resolve) => setImmediate(resolve));

serveParent(
  {
    port: () => ({ port: server.address().port }),
    clients: () => ({ clients: broker.stats().clients }),
    /** CPU time (user + system, every thread) and resident memory of this process. */
    usage: () => ({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss }),
    stats: () => ({ stats: broker.stats() }),
    /** `k` events as fast as this process can publish them: 100 per event-loop turn. */
    burst: async ({ k }) => {
      const t0 = now();
      for (let i = 0; i < k; i += 100) {
        for (let j = i; j < Math.min(k, i + 100); j++) broker.publish(topic(), { data: payload() });
        await immediate();
      }
      return { t0, t1: now() };
    },
    /** `k` events, one every `intervalMs` (on a schedule: a late one does not shift the rest). */
    paced: async ({ k, intervalMs }) => {
      const t0 = now();
      for (let i = 0; i < k; i++) {
        const wait = t0 + i * intervalMs - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        broker.publish(topic(), { data: payload() });
      }
      return { t0, t1: now() };
    },
  },
  LIFETIME_MS,
);
