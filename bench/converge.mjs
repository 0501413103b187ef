// The converge scenario (issue #25): N clients of the sse-core server on one
// state topic and one log topic with a snapshot, of which some never read.
// Several sides run at once, each a fresh server and load generator (this
// checkout with the `topics` rules, without them, and with `--against` an
// earlier commit), their bursts taking turns; then what each stuck client
// held, and how often the snapshot rendered. Used by run.mjs and
// compare.mjs; the report is in lib/converge-report.mjs.

import { envList } from "./lib/args.mjs";
import {
  cpuMs,
  heapOf,
  interleavedSample,
  log,
  measure,
  startPair,
  stopPair,
  WAIT_MS,
  waitClients,
} from "./lib/pair.mjs";
import { median } from "./lib/stats.mjs";

const env = process.env;
const QUICK = env.BENCH_QUICK === "1";

/** The scenario's sizes (BENCH_CONVERGE_N, BENCH_CONVERGE_STUCK, BENCH_CONVERGE_STATE; the rest fixed). */
export const CONVERGE = {
  /** Clients in all, the stuck ones included. */
  n: Number(env.BENCH_CONVERGE_N || (QUICK ? 1000 : 10_000)),
  /** Clients that never read. */
  stuck: Number(env.BENCH_CONVERGE_STUCK || (QUICK ? 20 : 100)),
  /** Events per burst, each of `size` bytes of data, `states` of them status, spread evenly (notes last). */
  k: 100,
  states: Number(env.BENCH_CONVERGE_STATE || 50),
  size: 64,
  /** Events of the fill that blocks each stuck client's connection before the bursts. */
  fillSize: 16 * 1024,
  /** Notes in the overflow burst: more than a client's write budget (16 KB) and buffer (16) hold. */
  overflowK: 400,
};
/** Notes per burst: what a reading client must receive before the burst counts as delivered. */
const NOTES = CONVERGE.k - CONVERGE.states;
/** What the load generator counts as one note (a snapshot of notes counts too). */
const NOTE_MARK = "event: notes\n";
const SAMPLES = Number(env.BENCH_SAMPLES || 8);
const SAMPLE_DELIVERIES = Number(env.BENCH_SAMPLE_DELIVERIES || 2_000_000);
const burstsFor = (n) => Math.max(1, Math.ceil(SAMPLE_DELIVERIES / (CONVERGE.k * n)));

/** The scenario's sides in a plain run: this checkout with and without the rules. */
export const LOCAL_SIDES = [
  { key: "rules", label: "this checkout, topics rules", mode: "rules" },
  { key: "plain", label: "this checkout, no topics option", mode: "plain" },
];

/** True when BENCH_SCENARIOS (default `fallback`) names the converge scenario. */
export const convergeAsked = (fallback) =>
  envList(env.BENCH_SCENARIOS, fallback).includes("converge");

/** One burst on `pair`, waited for until every reading client has its notes. */
const convergeBurst = ({ server, gen }) =>
  measure(gen, NOTES, () =>
    server.request("converge-burst", {
      k: CONVERGE.k,
      states: CONVERGE.states,
      size: CONVERGE.size,
    }),
  );

const statsOf = async (server) => server.request("converge-stats");

/** `after - before` of the counters the report reads. */
function countsBetween(before, after) {
  const s0 = before.stats;
  const s1 = after.stats;
  const sub = (a, b) => (a === undefined || b === undefined ? undefined : a - b);
  return {
    delivered: sub(s1.delivered, s0.delivered),
    dropped: sub(s1.dropped, s0.dropped),
    conflated: sub(s1.conflated, s0.conflated),
    overflowSnapshots: sub(s1.snapshots?.overflow, s0.snapshots?.overflow),
    renders: after.renders - before.renders,
  };
}

/**
 * The overflow burst on a side with rules: OVERFLOW_K notes in one tick, so
 * every reading client's buffer overflows on notes at once and each waits
 * for one snapshot: how many renders served them, and the server's CPU.
 */
async function overflowStep({ server, gen }, normal) {
  const before = await statsOf(server);
  const m = await measure(
    gen,
    1,
    () => server.request("converge-overflow", { k: CONVERGE.overflowK, size: CONVERGE.size }),
    false,
    server,
  );
  const after = await statsOf(server);
  return {
    complete: !m.incomplete,
    cpuMs: m.serverCpuMs,
    wallMs: m.tDone - m.t0,
    normal,
    ...countsBetween(before, after),
  };
}

/** The stuck clients read again: what each had been holding, and the renders that served them. */
async function releaseStep({ server, gen }) {
  const before = await statsOf(server);
  const cpu0 = (await server.request("cpu")).cpu;
  const { clients, quiet } = await gen.request("release", { lastOf: "status" }, WAIT_MS * 2);
  const cpu1 = (await server.request("cpu")).cpu;
  const after = await statsOf(server);
  return {
    clients,
    quiet,
    lastStatus: after.lastStatus,
    stuckBefore: before.stuck,
    cpuMs: cpuMs(cpu1) - cpuMs(cpu0),
    ...countsBetween(before, after),
  };
}

/** Connects `n` clients (the last `stuck` never read) and blocks the stuck ones' connections. */
async function prepare(pair, n, stuck) {
  const { server, gen, port } = pair;
  const { connected } = await gen.request(
    "connect",
    { port, n: n - stuck, stuck, mark: NOTE_MARK, stuckQuery: true },
    WAIT_MS,
  );
  if (connected < n - stuck)
    throw new Error(`${connected}/${n - stuck} connections got a response`);
  await waitClients(server, n);
  const { rules } = await server.request("converge-info");
  const fill = await server.request("converge-fill", { size: CONVERGE.fillSize }, WAIT_MS);
  return { rules, fill };
}

/**
 * One round: a server and load generator per side, all alive together;
 * each connects, fills its stuck clients, then one warm-up sample and
 * SAMPLES timed ones (the sides' bursts taking turns, the order rotating),
 * then the overflow burst (sides with rules) and the release.
 */
async function round(sides, n, stuck, results, label) {
  const pairs = {};
  const t0 = Date.now();
  try {
    await Promise.all(
      sides.map(async (side) => {
        const env = { BENCH_CONVERGE: side.mode };
        pairs[side.key] = await startPair("sse-core", { checkout: side.checkout, env });
      }),
    );
    const prepared = {};
    await Promise.all(
      sides.map(async (side) => {
        prepared[side.key] = await prepare(pairs[side.key], n, stuck);
      }),
    );
    log(
      `${label}: ${n} clients per side connected and stuck ones filled in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    const order = sides.map((side) => side.key);
    const bursts = burstsFor(n);
    const heap0 = {};
    for (const key of order) heap0[key] = heapOf(await pairs[key].server.request("memory"));
    await interleavedSample(pairs, order, bursts, convergeBurst);
    const before = {};
    for (const key of order) before[key] = await statsOf(pairs[key].server);
    for (let s = 0; s < SAMPLES; s++) {
      const turn = s % order.length;
      const sampleOrder = [...order.slice(turn), ...order.slice(0, turn)];
      const { cpuPerBurst, wallMs } = await interleavedSample(
        pairs,
        sampleOrder,
        bursts,
        convergeBurst,
      );
      for (const key of order) {
        results[key].burstCpuMs.push(cpuPerBurst[key]);
        results[key].burstWallMs.push(median(wallMs[key]));
      }
    }
    for (const key of order) {
      const { server } = pairs[key];
      const heap1 = heapOf(await server.request("memory"));
      const during = countsBetween(before[key], await statsOf(server));
      const r = {
        ...prepared[key],
        heapGrowth: heap1 - heap0[key],
        bursts: SAMPLES * bursts,
        during,
      };
      if (prepared[key].rules === "on") r.overflow = await overflowStep(pairs[key], n - stuck);
      r.release = await releaseStep(pairs[key]);
      results[key].rounds.push(r);
    }
  } finally {
    await Promise.all(Object.values(pairs).map(stopPair));
  }
}

/**
 * Runs the scenario with `sides` ({ key, label, mode: "rules" | "plain",
 * checkout? }) for `rounds` rounds; returns the sizes and each side's
 * samples and rounds, for lib/converge-report.mjs.
 */
export async function runConverge(sides, rounds) {
  const { n, stuck } = CONVERGE;
  const results = {};
  for (const side of sides) results[side.key] = { burstCpuMs: [], burstWallMs: [], rounds: [] };
  for (let r = 0; r < rounds; r++) {
    const label = `converge N=${n} (${stuck} stuck) round ${r + 1}/${rounds}`;
    // The first side of each sample rotates within the round; the list itself from round to round.
    const turned = [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)];
    await round(turned, n, stuck, results, label);
    const last = (key) =>
      `${median(results[key].burstCpuMs.slice(-SAMPLES)).toFixed(2)} ms/burst (rules ${results[key].rounds.at(-1).rules})`;
    log(`${label}: ${sides.map((side) => `${side.key} ${last(side.key)}`).join("; ")}`);
  }
  return {
    sizes: { ...CONVERGE, notes: NOTES, samples: SAMPLES, bursts: burstsFor(n), rounds },
    sides: sides.map(({ key, label, mode }) => ({ key, label, mode })),
    results,
  };
}
