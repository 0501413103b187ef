// The fan-out benchmark's scenarios (run.mjs), each on a fresh server of one
// kind and a fresh load generator: fanout (idle memory, burst, single events,
// paced), wide (many idle clients, then single events to all) and stuck (one
// client that never reads). Their fixed shapes are exported for the report
// (fanout-report.mjs).

import {
  BURST,
  burst,
  connectIdle,
  EVENT_SIZE,
  heapOf,
  measure,
  sleep,
  startPair,
  stopPair,
  WAIT_MS,
  waitClients,
} from "./pair.mjs";
import { median } from "./stats.mjs";

/** Single events timed per wide run (each waited for on every client); the run keeps their median. */
export const WIDE_EVENTS = 5;
/** One publish per tick: about 500 000 deliveries per run whatever N is. */
export const ticksFor = (n) => Math.max(20, Math.round(500_000 / n));
/** Paced: far below saturation (one fan-out to 10 000 sockets takes tens of ms here). */
export const pacedFor = (n) => (n >= 5000 ? { k: 20, intervalMs: 100 } : { k: 50, intervalMs: 20 });
/**
 * The stuck scenario: `normal` reading clients and one that never reads, `k`
 * events of `size` B published `batch` per timer tick of `intervalMs`.
 */
export const STUCK = { normal: 20, k: 10_000, size: 1024, batch: 10, intervalMs: 1 };
/** Connecting 19 000 clients through a framework on a loaded machine takes longer. */
const WIDE_WAIT_MS = 240_000;

/** Runs `body` with a fresh server of `kind` and load generator, then stops both. */
async function withPair(kind, body) {
  const pair = await startPair(kind);
  try {
    return await body(pair);
  } finally {
    await stopPair(pair);
  }
}

/** Events the server's broker dropped, ever (0 for the servers without one). */
async function droppedOf(server) {
  const { stats } = await server.request("stats");
  return stats.dropped ?? 0;
}

/**
 * Connects `n` clients to a fresh server of `kind`, then: idle memory, burst,
 * single events (ticks), paced latency. Returns the figures of one run.
 */
export async function fanout(kind, n) {
  const out = { kind, n };
  await withPair(kind, async (pair) => {
    const { server, gen, port } = pair;
    await connectIdle(server, gen, port, n, out);

    // Warm-up (JIT), not measured.
    await burst(pair, 10);

    out.burst = rate(await burst(pair), n * BURST);

    const k = ticksFor(n);
    const ticks = await measure(
      gen,
      k,
      () => server.request("ticks", { k, size: EVENT_SIZE }),
      false,
      server,
    );
    out.ticks = rate(ticks, n * k);

    const paced = pacedFor(n);
    const lat = await measure(
      gen,
      paced.k,
      () => server.request("paced", { ...paced, size: EVENT_SIZE }, WAIT_MS),
      true,
    );
    const { p50, p99, samples } = await gen.request("latency");
    out.latency = lat.incomplete
      ? { incomplete: lat.incomplete }
      : { p50, p99, samples, fanoutP50: lat.fanoutP50, fanoutP99: lat.fanoutP99 };
    out.dropped = await droppedOf(server);
  });
  return out;
}

/** Deliveries per second, wall time, load-generator CPU share and server CPU per delivery of one measure. */
function rate(m, deliveries) {
  if (m.incomplete) return { incomplete: m.incomplete };
  const wallMs = m.tDone - m.t0;
  return {
    perSec: deliveries / (wallMs / 1000),
    wallMs,
    genCpu: m.genCpuMs / wallMs,
    serverNsPerEvent: (m.serverCpuMs * 1e6) / deliveries,
  };
}

/**
 * `n` idle clients on a fresh server of `kind`: memory per connection, then
 * WIDE_EVENTS single events, each published alone and waited for on every
 * client: the time from publish until the last client has it, the server's
 * part of it (publish until every write was handed to the kernel) and the
 * server's CPU time.
 */
export async function wide(kind, n) {
  const out = { kind, n };
  await withPair(kind, async ({ server, gen, port }) => {
    await connectIdle(server, gen, port, n, out, WIDE_WAIT_MS);
    // Warm-up (JIT), not measured.
    for (let i = 0; i < 3; i++)
      await measure(gen, 1, () => server.request("one", { size: EVENT_SIZE }));
    const toAll = [];
    const writes = [];
    const cpu = [];
    for (let i = 0; i < WIDE_EVENTS; i++) {
      const m = await measure(
        gen,
        1,
        () => server.request("one", { size: EVENT_SIZE }),
        false,
        server,
      );
      if (m.incomplete) {
        out.incomplete = m.incomplete;
        break;
      }
      toAll.push(m.tDone - m.t0);
      writes.push(m.t1 - m.t0);
      cpu.push(m.serverCpuMs);
    }
    out.toAllMs = median(toAll);
    out.writeMs = median(writes);
    out.cpuMs = median(cpu);
    out.dropped = await droppedOf(server);
  });
  return out;
}

/**
 * 20 reading clients and one that never reads on a fresh server of `kind`,
 * while 10 000 events of 1 KB are published (STUCK).
 */
export async function stuck(kind) {
  const out = { kind };
  await withPair(kind, async ({ server, gen, port }) => {
    await gen.request("connect", { port, n: STUCK.normal, stuck: 1 });
    await waitClients(server, STUCK.normal + 1);
    await sleep(300);
    const before = await server.request("memory");
    const m = await measure(gen, STUCK.k, () => server.request("flood", STUCK, WAIT_MS));
    await sleep(200);
    const after = await server.request("memory");
    const counts = await gen.request("counts");
    out.heldMB = (heapOf(after) - heapOf(before)) / 2 ** 20;
    out.rssMB = (after.rss - before.rss) / 2 ** 20;
    out.complete = !m.incomplete;
    out.minReceived = counts.min;
    out.publishMs = m.t1 - m.t0;
    out.dropped = await droppedOf(server);
  });
  return out;
}
