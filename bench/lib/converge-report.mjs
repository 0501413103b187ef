// The converge scenario's tables (Markdown), from runConverge's result
// (bench/converge.mjs): the reading clients' cost per burst, what each stuck
// client held, and how often the snapshot rendered.

import { median, pairRatios, spread } from "./stats.mjs";

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const fmtSpread = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : "–");
const kb0 = (bytes) => fmt(bytes / 1024, 0);
/** "a" when every value is a, else "a–b" (min–max); "–" when there is none. */
function range(values, show = String) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return "–";
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo === hi ? show(lo) : `${show(lo)}–${show(hi)}`;
}
const sum = (obj) => Object.values(obj ?? {}).reduce((a, b) => a + b, 0);
const joined = (values) => [...new Set(values)].join(", ");
/**
 * A Markdown table: `columns` are `[title, cell]` pairs, `cell(row)` the
 * text of a row's cell; the first `left` columns left-aligned, the others
 * (figures) right-aligned.
 */
function table(lines, columns, rows, left = 1) {
  lines.push(`| ${columns.map(([title]) => title).join(" | ")} |`);
  lines.push(`|${columns.map((_, i) => (i < left ? "---" : "---:")).join("|")}|`);
  for (const row of rows) lines.push(`| ${columns.map(([, cell]) => cell(row)).join(" | ")} |`);
}

/** Per stuck client of every round of a side: its release tally, with the round's last status. */
function stuckClients(rounds) {
  return rounds.flatMap((r) =>
    r.release.clients.map((c) => ({ ...c, latest: c.last === r.release.lastStatus })),
  );
}

/** Each side with its results, as the rows of the tables. */
const rowsOf = ({ sides, results }) =>
  sides.map((side) => ({
    side,
    ...results[side.key],
    clients: stuckClients(results[side.key].rounds),
  }));

/** The reading clients' cost: server CPU per burst, each side against the first. */
function costTable(result, lines) {
  const ref = result.results[result.sides[0].key];
  const normal = result.sizes.n - result.sizes.stuck;
  const ratios = (row) => pairRatios(row.burstCpuMs, ref.burstCpuMs);
  const first = (row) => row.side === result.sides[0];
  const columns = [
    ["side", (row) => row.side.label],
    ["topics rules", (row) => joined(row.rounds.map((r) => r.rules))],
    ["server CPU per burst, ms", (row) => fmt(median(row.burstCpuMs), 2)],
    [
      `${result.sides[0].key} ÷ this (paired)`,
      (row) => (first(row) ? "1" : fmt(median(ratios(row)), 3)),
    ],
    ["±", (row) => (first(row) ? "" : fmtSpread(spread(ratios(row))))],
    ["wall per burst, ms", (row) => fmt(median(row.burstWallMs), 1)],
    [
      "(delivered − conflated) per reading client per burst",
      (row) =>
        fmt(
          median(
            row.rounds.map(
              (r) => (r.during.delivered - (r.during.conflated ?? 0)) / r.bursts / normal,
            ),
          ),
          1,
        ),
    ],
    ["samples", (row) => String(row.burstCpuMs.length)],
  ];
  table(lines, columns, rowsOf(result), 2);
}

/** What each stuck client held, from its release; the broker's counts over the bursts. */
function stuckTable(result, lines) {
  const perClient = (fn, show) => (row) => range(row.clients.map(fn), show);
  const perRound = (fn, show) => (row) => range(row.rounds.map(fn), show);
  const columns = [
    ["side", (row) => row.side.label],
    ["transport before it blocked (fill), KB", perClient((c) => c.fillBytes, kb0)],
    ["of it in Node's buffers, KB", perRound((r) => r.release.stuckBefore.bufferedMax, kb0)],
    [
      "held: status + notes events",
      (row) =>
        `${perClient((c) => c.events.status ?? 0)(row)} + ${perClient((c) => c.events.notes ?? 0)(row)}`,
    ],
    ["held, bytes", perClient((c) => c.eventBytes)],
    ["snapshots after", perClient((c) => sum(c.snapshots))],
    [
      "ends at the latest status",
      (row) => `${row.clients.filter((c) => c.latest).length}/${row.clients.length}`,
    ],
    ["dropped", perRound((r) => r.during.dropped)],
    ["conflated", perRound((r) => r.during.conflated)],
    ["heap growth over the bursts, KB", perRound((r) => r.heapGrowth, kb0)],
  ];
  table(lines, columns, rowsOf(result));
}

/** Snapshot renders and sends: over the timed bursts, the overflow burst and the release. */
function renderTable(result, lines) {
  const perRound = (fn) => (row) => range(row.rounds.map(fn));
  /** A figure of the overflow bursts (sides with rules only). */
  const overflow = (fn, show) => (row) =>
    range(
      row.rounds.filter((r) => r.overflow !== undefined).map((r) => fn(r.overflow)),
      show,
    );
  const columns = [
    ["side", (row) => row.side.label],
    ["renders during the timed bursts", perRound((r) => r.during.renders)],
    ["overflow burst: reading clients", overflow((o) => o.normal)],
    ["snapshots sent", overflow((o) => o.overflowSnapshots)],
    ["renders", overflow((o) => o.renders)],
    [
      "server CPU, ms",
      overflow(
        (o) => o.cpuMs,
        (x) => fmt(x, 1),
      ),
    ],
    ["release: stuck clients", perRound((r) => r.release.clients.length)],
    ["snapshots sent", perRound((r) => r.release.overflowSnapshots)],
    ["renders", perRound((r) => r.release.renders)],
  ];
  table(lines, columns, rowsOf(result));
}

/** The notes under the tables: incomplete overflow bursts, releases that did not go quiet. */
function notes({ sides, results }, lines) {
  for (const side of sides)
    for (const [i, r] of results[side.key].rounds.entries()) {
      if (r.overflow?.complete === false)
        lines.push(
          `Note: ${side.label}, round ${i + 1}: the overflow burst did not reach every reading client.`,
        );
      const { blocked, connected } = r.release.stuckBefore;
      if (blocked < connected)
        lines.push(
          `Note: ${side.label}, round ${i + 1}: ${blocked} of ${connected} stuck clients were blocked at the release.`,
        );
      if (!r.release.quiet)
        lines.push(
          `Note: ${side.label}, round ${i + 1}: the stuck clients still received data when the release was cut off.`,
        );
    }
}

/** The scenario's section of a report: setup, then three tables. */
export function convergeReport(result) {
  const { sizes } = result;
  const lines = [];
  const normal = sizes.n - sizes.stuck;
  lines.push(
    `### Converge: ${sizes.n} clients on a state topic and a log topic with a snapshot, ${sizes.stuck} of them never read`,
  );
  lines.push(
    `Every side is a fresh sse-core server and load generator, all alive together (${sizes.rounds} round(s)). Each stuck client's connection is first filled (events of ${sizes.fillSize / 1024} KB on a topic of its own) until its transport refuses more. A burst: ${sizes.k} events of ${sizes.size} B published in one tick, ${sizes.states} to \`status\` (state) and ${sizes.notes} to \`notes\` (log, snapshot), spread evenly, notes last, waited for until each of the ${normal} reading clients has its ${sizes.notes} notes; a sample: a full GC, then ${sizes.bursts} burst(s) per side, the sides taking turns; one warm-up sample, then ${sizes.samples} timed ones per round. Server CPU: user + system over the sample, per burst; the ratio is of each sample to the first side's beside it (median, ± half the interquartile range over it).`,
  );
  lines.push("");
  costTable(result, lines);
  lines.push("");
  lines.push(
    "What each stuck client held, read when it read again after every burst (timed and overflow): the fill is what the transport (kernel and Node buffers) took before it blocked, of it in Node's buffers: the most any stuck connection's socket and response held (the rest was in the kernel); held: the events that came after it, before any snapshot (min–max over stuck clients and rounds); snapshots after: those sent once it had written everything; ends at the latest status: its last status event is the last one published. Dropped, conflated: broker stats over the timed bursts (every client). Heap growth: heap used + external after GC, after the timed bursts minus after the fill.",
  );
  lines.push("");
  stuckTable(result, lines);
  lines.push("");
  lines.push(
    `Snapshot renders (calls of the log topic's snapshot function in the server), sends (stats().snapshots.overflow) and CPU: over the timed bursts; for an overflow burst (${sizes.overflowK} notes in one tick: every reading client's buffer overflows at once; sides with rules only); and for the release of the stuck clients.`,
  );
  lines.push("");
  renderTable(result, lines);
  lines.push("");
  notes(result, lines);
  return lines.join("\n");
}
