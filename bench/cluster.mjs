// The cluster scenario (issue #26, item 3): K server processes of one app on
// one backplane (Redis, a Redis Cluster, PostgreSQL), N clients spread evenly over them by
// load generators in processes of their own, events published from one
// process and from all of them. Per engine and K: delivered events/s of a
// burst, publish-to-receive p50/p99 of paced events across processes, CPU
// and memory of each server process, and the CPU of the backplane's own
// server (from /proc). Run by run.mjs (BENCH_SCENARIOS=cluster) or alone:
//
//   cd bench && node cluster.mjs
//   BENCH_CLUSTER_N=50000 BENCH_CLUSTER_K=4 BENCH_CLUSTER_ENGINES=redis node cluster.mjs
//   BENCH_CLUSTER_ENGINES=redis,redis-cluster,postgres node cluster.mjs
//
// redis-cluster runs on REDIS_CLUSTER_NODES, or else on a private cluster of
// 3 masters this script starts (lib/redis-cluster.mjs) and stops.
//
// The table and an SVG plot go to results/cluster.md and results/cluster.svg.

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  backplaneCpuReader,
  clusterNodes,
  dropPrefix,
  reachable,
  uniquePrefix,
} from "./lib/backplane-engines.mjs";
import { clusterReport, clusterSvg } from "./lib/cluster-report.mjs";
import { cpuMs, log, sleep } from "./lib/pair.mjs";
import { spawnChild } from "./lib/proc.mjs";
import { clusterToolsMissing, startRedisCluster, topicsOverMasters } from "./lib/redis-cluster.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
const list = (value, fallback) => (value || fallback).split(",").filter(Boolean);

const n = () => Number(env.BENCH_CLUSTER_N || (QUICK ? 1000 : 4000));

/** The scenario's sizes, from the environment (see bench/README.md). */
export const CLUSTER = {
  engines: list(env.BENCH_CLUSTER_ENGINES, "redis,postgres"),
  ks: list(env.BENCH_CLUSTER_K, "1,2,4").map(Number),
  /** Clients in all, over every process. */
  n: n(),
  /** Events of a burst, in all (from all: each process publishes its share). */
  burst: Number(env.BENCH_CLUSTER_BURST || (QUICK ? 200 : 1000)),
  /**
   * Paced events per second in all, for `seconds`: by default 100 000
   * deliveries a second whatever N is (25 events/s at N = 4 000, 2 at
   * 50 000), well below what this machine delivers, so that latency is not
   * queueing.
   */
  rate: Number(env.BENCH_CLUSTER_RATE || Math.min(100, Math.max(1, Math.round(100_000 / n())))),
  seconds: Number(env.BENCH_CLUSTER_SECONDS || (QUICK ? 2 : 5)),
};
/** Sockets one process may hold: 20 000 open files here, a few kept for the process itself. */
const PER_PROCESS = 19_000;
const WAIT_MS = 90_000;

/** Arms every generator, runs `start()`, waits until every client has `expect` more events. */
async function measure(servers, gens, bpCpu, expect, start, latency = false) {
  await Promise.all(gens.map((g) => g.request("arm", { expect, latency })));
  const dones = gens.map((g) => g.once("done", WAIT_MS));
  const before = await Promise.all(servers.map((s) => s.request("usage")));
  const bp0 = bpCpu();
  const timings = [await start()].flat();
  let finished;
  try {
    finished = await Promise.all(dones);
  } catch {
    const counts = await Promise.all(gens.map((g) => g.request("counts")));
    return { incomplete: Math.min(...counts.map((c) => c.min)) };
  }
  const after = await Promise.all(servers.map((s) => s.request("usage")));
  const t0 = Math.min(...timings.map((t) => t.t0));
  const wallMs = Math.max(...finished.map((d) => d.t)) - t0;
  const out = {
    wallMs,
    serverCpu: after.map((a, i) => (cpuMs(a.cpu) - cpuMs(before[i].cpu)) / wallMs),
    rssMB: after.map((a) => a.rss / 2 ** 20),
    backplaneCpu: (bpCpu() - bp0) / wallMs,
    genCpu: finished.map((d) => cpuMs(d.cpu) / wallMs),
  };
  if (latency) {
    const raws = await Promise.all(gens.map((g) => g.request("latency", { raw: true })));
    const all = Float64Array.from(raws.flatMap((r) => r.raw)).sort();
    const at = (q) => all[Math.min(all.length - 1, Math.floor(q * all.length))];
    Object.assign(out, { p50: at(0.5), p99: at(0.99), samples: all.length });
  }
  return out;
}

/** One engine at one K: connect, then a burst and paced events from one process, then from all. */
async function runOne(engine, k, topics) {
  const { n } = CLUSTER;
  const g = Math.max(2, Math.ceil(n / PER_PROCESS));
  const prefix = uniquePrefix(engine);
  const servers = Array.from({ length: k }, (_, i) =>
    spawnChild(join(here, "lib/cluster-server.mjs"), [], {
      env: {
        BENCH_ENGINE: engine,
        BENCH_PREFIX: prefix,
        BENCH_TAG: String(i),
        BENCH_TOPICS: topics.join(","),
      },
    }),
  );
  const gens = Array.from({ length: g }, () => spawnChild(join(here, "loadgen.mjs")));
  const row = { engine, k, n, gens: g, topics: topics.length, loadBefore: os.loadavg()[0] };
  try {
    await Promise.all([...servers, ...gens].map((c) => c.once("ready", 60_000)));
    const ports = (await Promise.all(servers.map((s) => s.request("port")))).map((r) => r.port);
    const idle = await Promise.all(servers.map((s) => s.request("usage")));
    const share = (i) => Math.floor(n / g) + (i < n % g ? 1 : 0);
    const connected = await Promise.all(
      gens.map((gen, i) => gen.request("connect", { ports, n: share(i) }, WAIT_MS)),
    );
    const total = connected.reduce((sum, c) => sum + c.connected, 0);
    if (total < n) throw new Error(`${total}/${n} connections got a response`);
    const counts = await Promise.all(servers.map((s) => s.request("clients")));
    row.perProcess = counts.map((c) => c.clients);
    const bpCpu = await backplaneCpuReader(engine);
    const all = () => servers;
    const one = () => servers.slice(0, 1);
    // Warm-up (JIT, connections to the backplane), not measured.
    await measure(servers, gens, bpCpu, 100, () => servers[0].request("burst", { k: 100 }));
    await sleep(200);
    for (const [source, publishers] of [
      ["one", one],
      ["all", all],
    ]) {
      const pubs = publishers();
      const each = Math.floor(CLUSTER.burst / pubs.length);
      const burst = await measure(servers, gens, bpCpu, each * pubs.length, () =>
        Promise.all(pubs.map((s) => s.request("burst", { k: each }, WAIT_MS))),
      );
      if (burst.wallMs) burst.perSec = (each * pubs.length * n) / (burst.wallMs / 1000);
      const paced = CLUSTER.rate * CLUSTER.seconds;
      const pacedEach = Math.floor(paced / pubs.length);
      const intervalMs = (1000 * pubs.length) / CLUSTER.rate;
      const lat = await measure(
        servers,
        gens,
        bpCpu,
        pacedEach * pubs.length,
        () =>
          Promise.all(pubs.map((s) => s.request("paced", { k: pacedEach, intervalMs }, WAIT_MS))),
        true,
      );
      row[source] = { burst, paced: lat };
      log(
        `cluster ${engine} K=${k} N=${n} from ${source}: ${burst.perSec ? `${Math.round(burst.perSec)} events/s` : `incomplete (${burst.incomplete})`}, p50 ${lat.p50?.toFixed(2)} ms p99 ${lat.p99?.toFixed(2)} ms`,
      );
    }
    row.idleRssMB = idle.map((u) => u.rss / 2 ** 20);
    const stats = await Promise.all(servers.map((s) => s.request("stats")));
    row.dropped = stats.reduce((sum, s) => sum + (s.stats.dropped ?? 0), 0);
    row.localOnly = stats.reduce(
      (sum, s) => sum + (s.stats.backplane?.localOnly ?? 0) + (s.stats.backplane?.overflow ?? 0),
      0,
    );
  } catch (err) {
    row.failed = String(err?.message ?? err);
    log(`cluster ${engine} K=${k}: FAILED ${row.failed}`);
  } finally {
    await Promise.all(gens.map((gen) => gen.request("close").catch(() => {})));
    await Promise.all([...servers, ...gens].map((c) => c.stop()));
    await dropPrefix(engine, prefix).catch((err) => log(`cluster: cleanup of ${prefix}: ${err}`));
  }
  row.loadAfter = os.loadavg()[0];
  return row;
}

/**
 * Runs `body(topics)` on `engine`: for redis-cluster one topic per master
 * (on REDIS_CLUSTER_NODES, or else on a private cluster started for it and
 * stopped after it), else the one topic `bench`. Resolves with [] when the
 * engine cannot run here (logged).
 */
async function onEngine(engine, body) {
  if (engine !== "redis-cluster" || env.REDIS_CLUSTER_NODES) {
    if (!(await reachable(engine))) {
      log(`cluster: ${engine} does not answer: skipped`);
      return [];
    }
    return body(
      engine === "redis-cluster" ? await topicsOverMasters(clusterNodes()[0]) : ["bench"],
    );
  }
  const missing = clusterToolsMissing();
  if (missing !== undefined) {
    log(`cluster: redis-cluster skipped: REDIS_CLUSTER_NODES is not set and ${missing}`);
    return [];
  }
  let cluster;
  try {
    cluster = await startRedisCluster(3);
  } catch (err) {
    log(
      `cluster: redis-cluster skipped: the private cluster did not start (${err?.message ?? err})`,
    );
    return [];
  }
  log(`cluster: a private Redis Cluster of 3 masters on ${cluster.nodes.join(", ")}`);
  env.REDIS_CLUSTER_NODES = cluster.nodes.join(",");
  try {
    return await body(await topicsOverMasters(cluster.nodes[0]));
  } finally {
    delete env.REDIS_CLUSTER_NODES;
    await cluster.stop();
    log("cluster: the private Redis Cluster stopped");
  }
}

/** Every engine that answers, at every K whose share of clients fits one process. */
export async function runCluster() {
  const rows = [];
  const uptime = {
    before: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
  for (const engine of CLUSTER.engines) {
    const ks = CLUSTER.ks.filter((k) => {
      const fits = Math.ceil(CLUSTER.n / k) <= PER_PROCESS;
      if (!fits)
        log(`cluster: K=${k} would put more than ${PER_PROCESS} clients on a process: skipped`);
      return fits;
    });
    const started = Date.now();
    rows.push(
      ...(await onEngine(engine, async (topics) => {
        const out = [];
        for (const k of ks) out.push(await runOne(engine, k, topics));
        return out;
      })),
    );
    log(`cluster: ${engine} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  uptime.after = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  return { rows, uptime, sizes: CLUSTER };
}

/** Writes the table and the plot into results/; returns the table. */
export function writeCluster(result) {
  const table = clusterReport(result);
  const outDir = join(here, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "cluster.md"), `${table}\n`);
  writeFileSync(join(outDir, "cluster.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, "cluster.svg"), clusterSvg(result));
  log(`written ${join(outDir, "cluster.md")} and cluster.svg`);
  return table;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(writeCluster(await runCluster()));
}
