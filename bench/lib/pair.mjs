// One server under test and its load generator, each in its own process, and
// the steps every scenario is made of: connect idle clients, measure memory,
// publish and wait until every client has what was published.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnChild } from "./proc.mjs";

const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const SERVER = join(benchDir, "server.mjs");
const LOADGEN = join(benchDir, "loadgen.mjs");

/** How long a scenario step may take before the run gives up on it. */
export const WAIT_MS = 90_000;

/** The burst case: this many events, published back to back in one tick. */
export const BURST = 100;
/** Bytes of each event's data in every scenario but the stuck client's. */
export const EVENT_SIZE = 64;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress on stderr, with the time of day. */
export const log = (...args) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);

export const cpuMs = (cpu) => (cpu.user + cpu.system) / 1000;
export const heapOf = (m) => m.heapUsed + m.external;

/** BENCH_PROFILE=<dir>: each server writes a V8 CPU profile there (open it in Chrome DevTools). */
const PROFILE_DIR = process.env.BENCH_PROFILE;

/**
 * Starts a server of `kind` and a load generator. `checkout`: the root of the
 * checkout whose built packages the server loads (`bench --against`); by
 * default the server imports them by name, i.e. this checkout's. `env`: added
 * to the server's environment (the converge scenario's `BENCH_CONVERGE`).
 */
export async function startPair(kind, { checkout, env } = {}) {
  const nodeArgs = ["--expose-gc"];
  if (PROFILE_DIR)
    nodeArgs.push(
      "--cpu-prof",
      `--cpu-prof-dir=${PROFILE_DIR}`,
      `--cpu-prof-name=${kind}-${Date.now()}.cpuprofile`,
    );
  const server = spawnChild(SERVER, checkout ? [kind, checkout] : [kind], { nodeArgs, env });
  const gen = spawnChild(LOADGEN);
  try {
    await Promise.all([server.once("ready", 30_000), gen.once("ready", 30_000)]);
    const { port } = await server.request("port");
    return { server, gen, port };
  } catch (err) {
    // A child that failed to start must not keep the other (and this process) alive.
    await Promise.all([server.stop(), gen.stop()]);
    throw err;
  }
}

/** Closes the generator's connections, then stops both processes. */
export async function stopPair(pair) {
  await pair.gen.request("close").catch(() => {});
  await Promise.all([pair.server.stop(), pair.gen.stop()]);
}

export async function waitClients(server, n, waitMs = WAIT_MS) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { clients } = await server.request("clients");
    if (clients >= n) return clients;
    if (Date.now() > deadline) throw new Error(`only ${clients}/${n} clients connected`);
    await sleep(100);
  }
}

/**
 * Arms the generator for `expect` events per connection, runs `start()` on the
 * server, waits until every connection has them. Returns the server's timing,
 * the generator's completion time and CPU, or `incomplete` with the counts.
 */
export async function measure(gen, expect, start, latency = false, server = undefined) {
  await gen.request("arm", { expect, latency });
  const done = gen.once("done", WAIT_MS);
  const cpu0 = server ? (await server.request("cpu")).cpu : undefined;
  const timing = await start();
  try {
    const d = await done;
    const cpu1 = server ? (await server.request("cpu")).cpu : undefined;
    const serverCpuMs = server ? cpuMs(cpu1) - cpuMs(cpu0) : Number.NaN;
    return { ...timing, tDone: d.t, genCpuMs: cpuMs(d.cpu), serverCpuMs };
  } catch {
    const counts = await gen.request("counts");
    return { ...timing, incomplete: counts };
  }
}

/**
 * Connects `n` idle clients and records, in `out`, the server's memory per
 * connection (heap used + external after GC, and RSS) minus the same with none.
 */
export async function connectIdle(server, gen, port, n, out, waitMs = WAIT_MS) {
  const base = await server.request("memory");
  const { connected } = await gen.request("connect", { port, n }, waitMs);
  if (connected < n) throw new Error(`${connected}/${n} connections got a response`);
  await waitClients(server, n, waitMs);
  await sleep(500);
  const idle = await server.request("memory");
  out.memPerConn = (heapOf(idle) - heapOf(base)) / n;
  out.rssPerConn = (idle.rss - base.rss) / n;
}

/**
 * The burst case: `k` events of EVENT_SIZE published back to back in one tick,
 * waited for on every client; with `timeCpu`, the server's CPU time too
 * (`serverCpuMs`).
 */
export function burst({ server, gen }, k = BURST, timeCpu = true) {
  const start = () => server.request("burst", { k, size: EVENT_SIZE });
  return measure(gen, k, start, false, timeCpu ? server : undefined);
}

/**
 * One timed sample of several servers (`pairs`, by side): a full GC in each,
 * then `bursts` bursts on each, the sides taking turns burst by burst in
 * `order`, each burst (`run(pair)`, a {@link measure}) waited for on every
 * client. Returns each server's CPU time (user + system, all its threads)
 * over the whole sample, per burst (a server is idle while the others'
 * bursts run, and what it does in the background after its own, GC, is
 * counted), and the wall time of each of its bursts.
 */
export async function interleavedSample(pairs, order, bursts, run) {
  // A full GC in each first: each sample starts from a clean heap.
  for (const side of order) await pairs[side].server.request("memory");
  const cpu0 = {};
  const wallMs = {};
  for (const side of order) {
    cpu0[side] = (await pairs[side].server.request("cpu")).cpu;
    wallMs[side] = [];
  }
  for (let i = 0; i < bursts; i++)
    for (const side of order) {
      const m = await run(pairs[side]);
      if (m.incomplete)
        throw new Error(`${side}: a burst did not reach every client (least: ${m.incomplete.min})`);
      wallMs[side].push(m.tDone - m.t0);
    }
  const cpuPerBurst = {};
  for (const side of order) {
    const cpu1 = (await pairs[side].server.request("cpu")).cpu;
    cpuPerBurst[side] = (cpuMs(cpu1) - cpuMs(cpu0[side])) / bursts;
  }
  return { cpuPerBurst, wallMs };
}
