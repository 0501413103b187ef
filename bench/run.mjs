// The fan-out benchmark: every server in its own process, one load generator
// process, scenarios driven over IPC, the median of several runs printed as
// Markdown tables with ratios against the raw loops and better-sse.
//
//   pnpm bench                      # full run: N = 1 000 and 10 000, 3 runs, and N = 19 000
//   BENCH_QUICK=1 pnpm bench        # N = 1 000 (and 2 000 for the wide scenario), 1 run
//   BENCH_SERVERS=sse-core,raw BENCH_N=2000 BENCH_RUNS=1 node run.mjs
//   pnpm bench --against main       # this checkout against another commit (compare.mjs)

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBenchArgs, USAGE } from "./lib/args.mjs";
import {
  BURST,
  burst,
  connectIdle,
  EVENT_SIZE,
  heapOf,
  log,
  measure,
  sleep,
  startPair,
  stopPair,
  WAIT_MS,
  waitClients,
} from "./lib/pair.mjs";
import { median } from "./lib/stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const ALL_SERVERS = [
  "sse-core",
  "sse-express",
  "sse-fastify",
  "sse-koa",
  "better-sse",
  "raw",
  "raw-join",
];
/** The servers built on sse-core, whose figures the targets table checks. */
const CORE_SERVERS = ALL_SERVERS.filter((kind) => kind.startsWith("sse-"));
const QUICK = process.env.BENCH_QUICK === "1";
const SERVERS = (process.env.BENCH_SERVERS ?? ALL_SERVERS.join(","))
  .split(",")
  .filter((s) => ALL_SERVERS.includes(s));
const NS = (process.env.BENCH_N ?? (QUICK ? "1000" : "1000,10000")).split(",").map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3));
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? "fanout,stuck,wide,converge,cluster").split(",");
/**
 * The wide scenario: as many clients as one process may hold open files
 * (20 000 here, a few kept for the process itself): idle memory per
 * connection and the time of one event to all of them.
 */
const WIDE_N = Number(process.env.BENCH_WIDE_N ?? (QUICK ? 2000 : 19_000));
/** Single events timed per wide run (each waited for on every client); the run keeps their median. */
const WIDE_EVENTS = 5;

/** One publish per tick: about 500 000 deliveries per run whatever N is. */
const ticksFor = (n) => Math.max(20, Math.round(500_000 / n));
/** Paced: far below saturation (one fan-out to 10 000 sockets takes tens of ms here). */
const pacedFor = (n) => (n >= 5000 ? { k: 20, intervalMs: 100 } : { k: 50, intervalMs: 20 });
/** The other variables the converge scenario reads (converge.mjs), shown in the command when set. */
const CONVERGE_VARS = [
  "BENCH_CONVERGE_N",
  "BENCH_CONVERGE_STUCK",
  "BENCH_CONVERGE_STATE",
  "BENCH_SAMPLES",
  "BENCH_SAMPLE_DELIVERIES",
];
const STUCK = { normal: 20, k: 10_000, size: 1024, batch: 10, intervalMs: 1 };
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

/** Connect N clients to one server, then: idle memory, burst, ticks, paced. */
async function fanout(kind, n) {
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
 * WIDE_N idle clients: memory per connection, then WIDE_EVENTS single events,
 * each published alone and waited for on every client: the time from publish
 * until the last client has it, the server's part of it (publish until every
 * write was handed to the kernel) and the server's CPU time.
 */
async function wide(kind) {
  const out = { kind, n: WIDE_N };
  await withPair(kind, async ({ server, gen, port }) => {
    await connectIdle(server, gen, port, WIDE_N, out, WIDE_WAIT_MS);
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

/** 20 reading clients and one that never reads, while 10 000 events of 1 KB are published. */
async function stuck(kind) {
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

// ---------------------------------------------------------------- reporting

const fmtRate = (x) => (Number.isFinite(x) ? `${(x / 1e6).toFixed(3)} M/s` : "incomplete");
const fmtRatio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–";
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");

/**
 * The issue's targets for the servers built on sse-core, each as a ratio to a
 * reference server: `figure(kind, n)` is the measured figure, `bound` the
 * ratio to stay at or under (`max`) or at or over (`min`), `at` the N the
 * issue states it for (every N of the run is shown).
 */
const TARGETS = [
  {
    figure: "Idle memory per connection",
    value: "memory",
    ref: "raw",
    max: 1.1,
    at: "1 000 and 10 000",
  },
  { figure: "Burst events/s", value: "burst", ref: "raw-join", min: 1.0, at: "10 000" },
  { figure: "Burst events/s", value: "burst", ref: "better-sse", min: 12, at: "1 000" },
  {
    figure: "Single events: server CPU per delivered event",
    value: "ticksCpu",
    ref: "raw",
    max: 0.8,
    at: "1 000 and 10 000",
  },
  { figure: "Paced p99 publish-to-receive", value: "p99", ref: "raw", max: 1.0, at: "every N" },
];

function report(fanouts, stucks, wides, meta) {
  const lines = [];
  const pick = (kind, n, fn) => median(fanouts.filter((r) => r.kind === kind && r.n === n).map(fn));
  const pickWide = (kind, fn) => median(wides.filter((r) => r.kind === kind).map(fn));
  const burstOf = (kind, n) => pick(kind, n, (r) => r.burst?.perSec);
  const ticksOf = (kind, n) => pick(kind, n, (r) => r.ticks?.perSec);
  const p50Of = (kind, n) => pick(kind, n, (r) => r.latency?.p50);
  const p99Of = (kind, n) => pick(kind, n, (r) => r.latency?.p99);
  // Idle memory is measured by the fanout scenario at NS and by the wide one at WIDE_N.
  const memOf = (kind, n) =>
    median(
      [...fanouts, ...wides].filter((r) => r.kind === kind && r.n === n).map((r) => r.memPerConn),
    );
  const ticksCpuOf = (kind, n) => pick(kind, n, (r) => r.ticks?.serverNsPerEvent);
  const figureOf = { memory: memOf, burst: burstOf, ticksCpu: ticksCpuOf, p99: p99Of };
  const runsOf = (kind, n) => fanouts.filter((r) => r.kind === kind && r.n === n).length;

  lines.push(
    `Machine: ${meta.cpus}× ${meta.cpuModel}, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  lines.push(
    `Load average: ${meta.loadBefore} before, ${meta.loadAfter} after. Duration: ${meta.minutes} min.`,
  );
  lines.push(`Runs per figure: ${RUNS} (median). Command: ${meta.command}`);
  lines.push("");

  const cores = SERVERS.filter((kind) => CORE_SERVERS.includes(kind));
  const targetNs = [...new Set([...NS, ...(wides.length > 0 ? [WIDE_N] : [])])];
  if (cores.length > 0 && (fanouts.length > 0 || wides.length > 0)) {
    lines.push("### The issue's targets: ratios of the sse-core servers to the reference");
    lines.push(
      "Each cell: this server's figure / the reference server's, same N, same run (medians); ✓ where the target is met, ✗ where not. The issue states each target at the N in parentheses; every N of the run is shown.",
    );
    lines.push("");
    lines.push(`| figure | vs | N | target | ${cores.join(" | ")} |`);
    lines.push(`|---|---|---:|---:|${cores.map(() => "---:").join("|")}|`);
    for (const t of TARGETS)
      for (const n of targetNs) {
        const get = figureOf[t.value];
        const ref = get(t.ref, n);
        if (!Number.isFinite(ref)) continue;
        const cells = cores.map((kind) => {
          const v = get(kind, n);
          if (!Number.isFinite(v)) return "–";
          const ratio = v / ref;
          const met = t.max !== undefined ? ratio <= t.max : ratio >= t.min;
          return `${ratio.toFixed(2)}× ${met ? "✓" : "✗"}`;
        });
        const target = t.max !== undefined ? `≤ ${t.max.toFixed(2)}×` : `≥ ${t.min.toFixed(2)}×`;
        lines.push(
          `| ${t.figure} | ${t.ref} | ${n} | ${target} (${t.at}) | ${cells.join(" | ")} |`,
        );
      }
    lines.push("");
  }

  if (fanouts.length > 0) {
    lines.push(`### Burst: ${BURST} events of ${EVENT_SIZE} B published back to back`);
    lines.push(
      "Delivered events per second until every client has all of them; server CPU time (user + system) per delivered event, lower is better.",
    );
    lines.push("");
    lines.push(
      "| server | N | events/s | × raw | × raw-join | × better-sse | server CPU ns/event | CPU × raw-join | load-gen CPU |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const n of NS)
      for (const kind of SERVERS) {
        if (runsOf(kind, n) === 0) continue;
        const v = burstOf(kind, n);
        const cpu = pick(kind, n, (r) => r.burst?.genCpu);
        const ns = pick(kind, n, (r) => r.burst?.serverNsPerEvent);
        const nsRef = pick("raw-join", n, (r) => r.burst?.serverNsPerEvent);
        lines.push(
          `| ${kind} | ${n} | ${fmtRate(v)} | ${fmtRatio(v, burstOf("raw", n))} | ${fmtRatio(v, burstOf("raw-join", n))} | ${fmtRatio(v, burstOf("better-sse", n))} | ${fmt(ns, 0)} | ${fmtRatio(ns, nsRef)} | ${fmt(cpu * 100, 0)}% |`,
        );
      }
    lines.push("");
    lines.push("### Single events: one publish per event-loop turn");
    lines.push(
      "Delivered events per second until every client has all of them; server CPU time (user + system) per delivered event, lower is better.",
    );
    lines.push("");
    lines.push(
      "| server | N | events | events/s | × raw | × better-sse | server CPU ns/event | CPU × raw | load-gen CPU |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const n of NS)
      for (const kind of SERVERS) {
        if (runsOf(kind, n) === 0) continue;
        const v = ticksOf(kind, n);
        const cpu = pick(kind, n, (r) => r.ticks?.genCpu);
        const ns = pick(kind, n, (r) => r.ticks?.serverNsPerEvent);
        const nsRef = pick("raw", n, (r) => r.ticks?.serverNsPerEvent);
        lines.push(
          `| ${kind} | ${n} | ${ticksFor(n)} | ${fmtRate(v)} | ${fmtRatio(v, ticksOf("raw", n))} | ${fmtRatio(v, ticksOf("better-sse", n))} | ${fmt(ns, 0)} | ${fmtRatio(ns, nsRef)} | ${fmt(cpu * 100, 0)}% |`,
        );
      }
    lines.push("");
    lines.push("### Paced events: publish-to-receive latency");
    lines.push(
      "Publish-to-receive, timestamps in the payload, up to 1 000 sampled connections (it includes the load generator's time to read every socket before the sampled one). Server fan-out: from publish until every write was handed to the kernel (next setImmediate). Lower is better: ratios are p99 / other's p99.",
    );
    lines.push("");
    lines.push(
      "| server | N | events × interval | p50 ms | p99 ms | p99 × raw | p99 × better-sse | server fan-out p50 / p99 ms |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const n of NS)
      for (const kind of SERVERS) {
        if (runsOf(kind, n) === 0) continue;
        const p = pacedFor(n);
        const v = p99Of(kind, n);
        lines.push(
          `| ${kind} | ${n} | ${p.k} × ${p.intervalMs} ms | ${fmt(p50Of(kind, n), 2)} | ${fmt(v, 2)} | ${fmtRatio(v, p99Of("raw", n))} | ${fmtRatio(v, p99Of("better-sse", n))} | ${fmt(
            pick(kind, n, (r) => r.latency?.fanoutP50),
            2,
          )} / ${fmt(
            pick(kind, n, (r) => r.latency?.fanoutP99),
            2,
          )} |`,
        );
      }
    lines.push("");
    lines.push("### Idle memory per connection (after GC)");
    lines.push("Server heap used + external, with N idle clients, minus the same with none.");
    lines.push("");
    lines.push("| server | N | KB/conn | × raw | × better-sse | RSS KB/conn |");
    lines.push("|---|---:|---:|---:|---:|---:|");
    for (const n of NS)
      for (const kind of SERVERS) {
        if (runsOf(kind, n) === 0) continue;
        const v = memOf(kind, n);
        const rss = pick(kind, n, (r) => r.rssPerConn);
        lines.push(
          `| ${kind} | ${n} | ${fmt(v / 1024, 2)} | ${fmtRatio(v, memOf("raw", n))} | ${fmtRatio(v, memOf("better-sse", n))} | ${fmt(rss / 1024, 2)} |`,
        );
      }
    lines.push("");
    const dropped = fanouts.filter((r) => r.dropped > 0);
    const incomplete = fanouts.filter(
      (r) => r.burst?.incomplete || r.ticks?.incomplete || r.latency?.incomplete,
    );
    if (dropped.length > 0 || incomplete.length > 0) {
      for (const r of dropped) lines.push(`Note: ${r.kind} N=${r.n} dropped ${r.dropped} events.`);
      for (const r of incomplete)
        lines.push(`Note: ${r.kind} N=${r.n} had an incomplete scenario.`);
      lines.push("");
    }
  }

  if (wides.length > 0) {
    lines.push(`### N = ${WIDE_N}: idle memory and one event to all clients`);
    lines.push(
      `Idle memory as above. One event: ${WIDE_EVENTS} single events of ${EVENT_SIZE} B per run, each published alone and waited for on every client (median per run, then median of the runs): from publish until the last client has it (this includes the load generator reading every socket), the server's part (from publish until every write was handed to the kernel) and the server's CPU time.`,
    );
    lines.push("");
    lines.push(
      "| server | KB/conn | × raw | × better-sse | RSS KB/conn | one event to all, ms | × raw | × raw-join | × better-sse | server write ms | server CPU ms |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    const toAllOf = (kind) => pickWide(kind, (r) => r.toAllMs);
    for (const kind of SERVERS) {
      if (!wides.some((r) => r.kind === kind)) continue;
      const mem = memOf(kind, WIDE_N);
      const t = toAllOf(kind);
      lines.push(
        `| ${kind} | ${fmt(mem / 1024, 2)} | ${fmtRatio(mem, memOf("raw", WIDE_N))} | ${fmtRatio(mem, memOf("better-sse", WIDE_N))} | ${fmt(pickWide(kind, (r) => r.rssPerConn) / 1024, 2)} | ${fmt(t, 1)} | ${fmtRatio(t, toAllOf("raw"))} | ${fmtRatio(t, toAllOf("raw-join"))} | ${fmtRatio(t, toAllOf("better-sse"))} | ${fmt(
          pickWide(kind, (r) => r.writeMs),
          1,
        )} | ${fmt(
          pickWide(kind, (r) => r.cpuMs),
          1,
        )} |`,
      );
    }
    lines.push("");
    for (const r of wides.filter((w) => w.incomplete || w.dropped > 0))
      lines.push(
        `Note: ${r.kind} N=${r.n} ${r.incomplete ? "had an incomplete event" : `dropped ${r.dropped} events`}.`,
      );
    if (wides.some((w) => w.incomplete || w.dropped > 0)) lines.push("");
  }

  if (stucks.length > 0) {
    lines.push(
      `### Stuck client: ${STUCK.normal} reading clients and 1 that never reads, ${STUCK.k} events of ${STUCK.size} B`,
    );
    lines.push(
      `Published ${STUCK.batch} per timer tick. Server heap + external growth after GC, with the stuck client still connected.`,
    );
    lines.push("");
    lines.push(
      "| server | memory held (MB) | RSS growth (MB) | reading clients got all | least received | dropped for the stuck client |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|");
    for (const kind of SERVERS) {
      const rs = stucks.filter((r) => r.kind === kind);
      if (rs.length === 0) continue;
      const ok = rs.filter((r) => r.complete).length;
      lines.push(
        `| ${kind} | ${fmt(median(rs.map((r) => r.heldMB)), 2)} | ${fmt(median(rs.map((r) => r.rssMB)), 1)} | ${ok}/${rs.length} runs | ${median(rs.map((r) => r.minReceived))} | ${kind.startsWith("sse-") ? median(rs.map((r) => r.dropped)) : "n/a (holds all)"} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- main

let args;
try {
  args = parseBenchArgs(process.argv.slice(2), process.env);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
// The resume storms (storm.mjs) run on their own, --against included; then the other scenarios, if any.
if (SCENARIOS.includes("storm")) {
  const { stormMain } = await import("./storm.mjs");
  try {
    await stormMain({ against: args.against });
  } catch (err) {
    console.error(String(err?.message).startsWith("bench: ") ? err.message : err);
    process.exit(1);
  }
  if (SCENARIOS.every((name) => name === "storm")) process.exit(0);
}
if (args.against !== undefined) {
  const { compareWith } = await import("./compare.mjs");
  try {
    await compareWith(args.against);
    process.exit(0);
  } catch (err) {
    // Our own errors ("bench: …") say all there is; anything else needs its stack.
    console.error(String(err?.message).startsWith("bench: ") ? err.message : err);
    process.exit(1);
  }
}

const started = Date.now();
const meta = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  loadBefore: os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" "),
  command: QUICK ? "BENCH_QUICK=1 pnpm bench" : "pnpm bench",
};
if (
  process.env.BENCH_SERVERS ||
  process.env.BENCH_N ||
  process.env.BENCH_RUNS ||
  process.env.BENCH_SCENARIOS ||
  process.env.BENCH_WIDE_N ||
  CONVERGE_VARS.some((name) => process.env[name])
)
  meta.command = `${QUICK ? "BENCH_QUICK=1 " : ""}BENCH_SERVERS=${SERVERS.join(",")} BENCH_N=${NS.join(",")} BENCH_RUNS=${RUNS} BENCH_SCENARIOS=${SCENARIOS.join(",")} BENCH_WIDE_N=${WIDE_N}${CONVERGE_VARS.map((v) => (process.env[v] ? ` ${v}=${process.env[v]}` : "")).join("")} node run.mjs`;
log(
  `servers ${SERVERS.join(", ")}; N ${NS.join(", ")}; wide N ${WIDE_N}; scenarios ${SCENARIOS.join(", ")}; ${RUNS} run(s); load ${meta.loadBefore}`,
);

const fanouts = [];
const stucks = [];
const wides = [];
for (let run = 1; run <= RUNS; run++) {
  if (SCENARIOS.includes("fanout"))
    for (const n of NS)
      for (const kind of SERVERS) {
        try {
          const r = await fanout(kind, n);
          fanouts.push(r);
          log(
            `run ${run} N=${n} ${kind}: burst ${fmtRate(r.burst.perSec)}, ticks ${fmtRate(r.ticks.perSec)}, p99 ${fmt(r.latency.p99, 2)} ms, ${fmt(r.memPerConn / 1024, 2)} KB/conn`,
          );
        } catch (err) {
          log(`run ${run} N=${n} ${kind}: FAILED ${err.message}`);
        }
      }
  if (SCENARIOS.includes("wide"))
    for (const kind of SERVERS) {
      try {
        const r = await wide(kind);
        wides.push(r);
        log(
          `run ${run} N=${WIDE_N} ${kind}: ${fmt(r.memPerConn / 1024, 2)} KB/conn, one event to all ${fmt(r.toAllMs, 1)} ms (server write ${fmt(r.writeMs, 1)} ms)`,
        );
      } catch (err) {
        log(`run ${run} N=${WIDE_N} ${kind}: FAILED ${err.message}`);
      }
    }
  if (SCENARIOS.includes("stuck"))
    for (const kind of SERVERS) {
      try {
        const r = await stuck(kind);
        stucks.push(r);
        log(
          `run ${run} stuck ${kind}: held ${fmt(r.heldMB, 2)} MB, complete ${r.complete}, dropped ${r.dropped}`,
        );
      } catch (err) {
        log(`run ${run} stuck ${kind}: FAILED ${err.message}`);
      }
    }
}
// The converge scenario (sse-core only): this checkout with and without topics rules, side by side.
let converge;
if (SCENARIOS.includes("converge") && SERVERS.includes("sse-core")) {
  const { LOCAL_SIDES, runConverge } = await import("./converge.mjs");
  try {
    converge = await runConverge(LOCAL_SIDES, RUNS);
  } catch (err) {
    log(`converge: FAILED ${err.message}`);
  }
}
// The cluster scenario: K processes on one Redis and one PostgreSQL (cluster.mjs).
let cluster;
if (SCENARIOS.includes("cluster")) {
  const { runCluster } = await import("./cluster.mjs");
  cluster = await runCluster();
}
meta.loadAfter = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(" ");
meta.minutes = ((Date.now() - started) / 60_000).toFixed(1);

let table = report(fanouts, stucks, wides, meta);
if (converge !== undefined) {
  const { convergeReport } = await import("./lib/converge-report.mjs");
  table += `\n${convergeReport(converge)}\n`;
}
if (cluster !== undefined) {
  const { writeCluster } = await import("./cluster.mjs");
  table += `\n### Many processes on one backplane (cluster)\n\n${writeCluster(cluster)}\n`;
}
console.log(table);
const outDir = join(here, "results");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "latest.md"), `${table}\n`);
writeFileSync(
  join(outDir, "latest.json"),
  `${JSON.stringify({ meta, fanouts, stucks, wides, converge }, null, 2)}\n`,
);
log(`written ${join(outDir, "latest.md")}`);
