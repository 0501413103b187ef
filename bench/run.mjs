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
import { fanoutReport, fmt, fmtRate } from "./lib/fanout-report.mjs";
import { fanout, stuck, wide } from "./lib/fanout-scenarios.mjs";
import { log } from "./lib/pair.mjs";

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
/** The other variables the converge scenario reads (converge.mjs), shown in the command when set. */
const CONVERGE_VARS = [
  "BENCH_CONVERGE_N",
  "BENCH_CONVERGE_STUCK",
  "BENCH_CONVERGE_STATE",
  "BENCH_SAMPLES",
  "BENCH_SAMPLE_DELIVERIES",
];

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
        const r = await wide(kind, WIDE_N);
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

let table = fanoutReport({ fanouts, stucks, wides }, meta, {
  servers: SERVERS,
  coreServers: CORE_SERVERS,
  ns: NS,
  runs: RUNS,
  wideN: WIDE_N,
});
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
