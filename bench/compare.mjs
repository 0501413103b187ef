// `pnpm bench --against <ref>`: this checkout (A) and another commit (B) side
// by side in one run. B is built in a temporary git worktree; then, for every
// N, each round starts a fresh server and load generator for A and for B,
// measures both servers' idle memory, and times bursts on A and B in turn
// (A, B, A, B, ... burst by burst) so that the machine's noise hits both
// alike. The table holds each side's median and the ratio B/A.

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { convergeAsked, LOCAL_SIDES, runConverge } from "./converge.mjs";
import { envList } from "./lib/args.mjs";
import { describeRef, isDirty, repoRoot, TempCheckout } from "./lib/checkout.mjs";
import { convergeReport } from "./lib/converge-report.mjs";
import {
  BURST,
  burst,
  connectIdle,
  EVENT_SIZE,
  interleavedSample,
  log,
  startPair,
  stopPair,
} from "./lib/pair.mjs";
import { median, pairRatios, spread } from "./lib/stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const QUICK = env.BENCH_QUICK === "1";
/** Only servers whose code is in this repository differ between two commits. */
const SERVERS = envList(env.BENCH_SERVERS, "sse-core").filter((kind) => kind.startsWith("sse-"));
const NS = envList(env.BENCH_N, QUICK ? "1000" : "1000,10000").map(Number);
/** Rounds per N: each a fresh pair of processes per side, so one idle-memory sample per side. */
const ROUNDS = Number(env.BENCH_RUNS || (QUICK ? 1 : 4));
/** Timed samples per side and round, after one untimed warm-up sample. */
const SAMPLES = Number(env.BENCH_SAMPLES || 8);
/**
 * Deliveries (events × clients) per side and timed sample: a sample is as
 * many bursts of BURST events as that takes (20 at N = 1 000, 2 at 10 000),
 * about half a second of the server's CPU here, where the CPU time of one
 * burst (20-40 ms at N = 1 000) varies by tens of percent from burst to burst.
 */
const SAMPLE_DELIVERIES = Number(env.BENCH_SAMPLE_DELIVERIES || 2_000_000);
/** The burst comparison above unless BENCH_SCENARIOS names others; `converge` adds that scenario. */
const FANOUT = envList(env.BENCH_SCENARIOS, "fanout").includes("fanout");
const CONVERGE = convergeAsked("fanout");
/** Rounds of the converge scenario: each connects N clients to three servers. */
const CONVERGE_ROUNDS = Number(env.BENCH_RUNS || (QUICK ? 1 : 2));
/** The variables this comparison reads, shown in the table's command line when set. */
const SETTINGS = [
  "BENCH_QUICK",
  "BENCH_SERVERS",
  "BENCH_N",
  "BENCH_RUNS",
  "BENCH_SAMPLES",
  "BENCH_SAMPLE_DELIVERIES",
  "BENCH_SCENARIOS",
  "BENCH_CONVERGE_N",
  "BENCH_CONVERGE_STUCK",
  "BENCH_CONVERGE_STATE",
];
const burstsFor = (n) => Math.max(1, Math.ceil(SAMPLE_DELIVERIES / (BURST * n)));

/**
 * One round at `n` clients: a server and load generator per side, both alive
 * for the whole round; idle memory of each, one untimed
 * warm-up sample, then SAMPLES timed samples, the side that goes first
 * alternating from sample to sample.
 */
async function round(kind, n, order, checkouts, results, label) {
  const pairs = {};
  const t0 = Date.now();
  try {
    await Promise.all(
      order.map(async (side) => {
        pairs[side] = await startPair(kind, { checkout: checkouts[side] });
      }),
    );
    // Both sides connect at once (memory is per process, and this halves the wait).
    const idle = { A: {}, B: {} };
    await Promise.all(
      order.map((side) => {
        const { server, gen, port } = pairs[side];
        return connectIdle(server, gen, port, n, idle[side]);
      }),
    );
    for (const side of order) results[side].memPerConn.push(idle[side].memPerConn);
    log(
      `${label}: ${n} clients on each side connected in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    const bursts = burstsFor(n);
    const run = (pair) => burst(pair, BURST, false);
    await interleavedSample(pairs, order, bursts, run);
    for (let s = 0; s < SAMPLES; s++) {
      const sampleOrder = s % 2 === 0 ? order : [...order].reverse();
      const { cpuPerBurst } = await interleavedSample(pairs, sampleOrder, bursts, run);
      for (const side of order) results[side].burstCpuMs.push(cpuPerBurst[side]);
    }
  } finally {
    await Promise.all(Object.values(pairs).map(stopPair));
  }
}

const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const fmt = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const fmtSpread = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : "–");

/** The cases of the table: what each sample holds, its unit and how to show it. */
const CASES = [
  {
    key: "burstCpuMs",
    name: `server CPU per burst (${BURST} × ${EVENT_SIZE} B events to N clients)`,
    unit: "ms",
    scale: 1,
    digits: 2,
  },
  {
    key: "memPerConn",
    name: "heap per idle connection (heap used + external after GC)",
    unit: "KB",
    scale: 1 / 1024,
    digits: 3,
  },
];

function report(cells, converge, meta) {
  const lines = [];
  lines.push(`## This checkout (A) against ${meta.b.ref} (B)`);
  lines.push("");
  lines.push(`- A: ${meta.a.label}`);
  lines.push(`- B: ${meta.b.label}`);
  lines.push(
    `- Machine: ${meta.cpus}× ${meta.cpuModel}, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  lines.push(
    `- ${meta.started} UTC, ${meta.minutes} min (building B: ${meta.buildMinutes} min); load average ${meta.loadBefore} before, ${meta.loadAfter} after`,
  );
  if (cells.length > 0)
    lines.push(
      `- Per N: ${ROUNDS} round(s), each with a fresh server and load generator per side (one idle-memory sample per side), one warm-up sample, then ${SAMPLES} timed samples; a sample is a full GC, then ${SAMPLE_DELIVERIES.toLocaleString("en")} deliveries per side (${NS.map((n) => `${burstsFor(n)} bursts at N = ${n}`).join(", ")}), A's and B's bursts taking turns.`,
    );
  if (cells.length > 0)
    lines.push(
      "- A, B: the median of each side's samples. B/A: the median of the samples' ratios, each sample's B over the A taken beside it (same round, same sample); above 1.00, B costs more than A. ±: half the interquartile range of those ratios, over their median.",
    );
  lines.push(`- Command: ${meta.command}`);
  lines.push("");
  if (cells.length > 0) {
    lines.push("| server | case | N | A | B | B/A | ± | samples per side |");
    lines.push("|---|---|---:|---:|---:|---:|---:|---:|");
  }
  for (const { kind, n, results } of cells)
    for (const c of CASES) {
      const a = results.A[c.key].map((x) => x * c.scale);
      const b = results.B[c.key].map((x) => x * c.scale);
      const ratios = pairRatios(a, b);
      lines.push(
        `| ${kind} | ${c.name}, ${c.unit} | ${n} | ${fmt(median(a), c.digits)} | ${fmt(median(b), c.digits)} | ${fmt(median(ratios), 3)} | ${fmtSpread(spread(ratios))} | ${a.length} |`,
      );
    }
  if (converge !== undefined) lines.push("", convergeReport(converge));
  return lines.join("\n");
}

/**
 * Runs the comparison of this checkout against `ref`; prints the table on
 * stdout and writes it, with every sample, to bench/results/compare.{md,json}.
 */
export async function compareWith(ref) {
  if (SERVERS.length === 0) throw new Error("bench --against: BENCH_SERVERS names no sse-* server");
  const repo = repoRoot(here);
  const b = describeRef(repo, ref);
  const headShort = describeRef(repo, "HEAD").short;
  const dirty = isDirty(repo, ["packages"]);
  const loadavg = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
  const meta = {
    started: new Date().toISOString().slice(0, 16).replace("T", " "),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    loadBefore: loadavg(),
    command: `${SETTINGS.filter((name) => env[name])
      .map((name) => `${name}=${env[name]} `)
      .join("")}pnpm bench --against ${ref}`,
    a: {
      label: `this checkout, HEAD ${headShort}${dirty ? " with uncommitted changes under packages/" : ""}, as built by pnpm bench`,
    },
    b: {
      ref,
      commit: b.commit,
      label: `${ref === b.short ? "" : `${ref} = `}${b.short} "${clip(b.subject, 72)}", built in a temporary worktree`,
    },
  };
  const startedAt = Date.now();
  const packages = SERVERS.map((kind) => `@burrow/${kind}`);
  log(`building ${ref} (${b.short}): ${packages.join(", ")}`);
  const checkout = new TempCheckout(repo, b.commit);
  const cells = [];
  let converge;
  try {
    await checkout.build(packages);
    meta.buildMinutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
    log(`built in ${meta.buildMinutes} min, in ${checkout.dir}`);
    const checkouts = { A: repo, B: checkout.dir };
    if (CONVERGE) {
      const sides = [
        ...LOCAL_SIDES,
        { key: "B", label: `${b.short} (B)`, mode: "rules", checkout: checkout.dir },
      ];
      converge = await runConverge(sides, CONVERGE_ROUNDS);
    }
    for (const n of FANOUT ? NS : [])
      for (const kind of SERVERS) {
        const results = {
          A: { memPerConn: [], burstCpuMs: [] },
          B: { memPerConn: [], burstCpuMs: [] },
        };
        for (let r = 0; r < ROUNDS; r++) {
          const order = r % 2 === 0 ? ["A", "B"] : ["B", "A"];
          const label = `${kind} N=${n} round ${r + 1}/${ROUNDS}`;
          await round(kind, n, order, checkouts, results, label);
          const last = (side) =>
            `${fmt(median(results[side].burstCpuMs.slice(-SAMPLES)), 2)} ms/burst, ${fmt(results[side].memPerConn.at(-1) / 1024, 3)} KB/conn`;
          log(`${label}: A ${last("A")}; B ${last("B")}`);
        }
        cells.push({ kind, n, results });
      }
  } finally {
    checkout.remove();
  }
  meta.loadAfter = loadavg();
  meta.minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
  const table = report(cells, converge, meta);
  console.log(table);
  const outDir = join(here, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "compare.md"), `${table}\n`);
  writeFileSync(
    join(outDir, "compare.json"),
    `${JSON.stringify({ meta, cells, converge }, null, 2)}\n`,
  );
  log(`written ${join(outDir, "compare.md")}`);
}
