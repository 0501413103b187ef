// What the storm's clients saw, from the records of every load generator
// (lib/storm-clients.mjs): timings as percentiles over every client (one
// that never got there counts as Infinity), failures by cause, and the
// correctness counts.

/** p50, p99 and max of `values`. */
function summary(values) {
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) };
}

/**
 * Joins the generators' answers (`parts`) of a storm that started at `t0`
 * (monotonic ms): one summary for the report.
 */
export function tallyStorm(parts, t0) {
  const clients = parts.flatMap((part) => part.clients);
  const failures = {};
  const headers = [];
  const connects = [];
  const replays = [];
  const doneAt = [];
  const totals = { lost: 0, duplicated: 0, reordered: 0, wrongId: 0, foreign: 0, expected: 0 };
  let complete = 0;
  let incomplete = 0;
  let failedAtConnect = 0;
  const count = (key) => {
    failures[key] = (failures[key] ?? 0) + 1;
  };
  for (const c of clients) {
    headers.push(c.headAt > 0 ? c.headAt - c.startAt : Number.POSITIVE_INFINITY);
    connects.push(c.connectAt > 0 ? c.connectAt - c.startAt : Number.POSITIVE_INFINITY);
    replays.push(c.doneAt > 0 ? c.doneAt - c.startAt : Number.POSITIVE_INFINITY);
    if (c.doneAt > 0) {
      doneAt.push(c.doneAt - t0);
      complete++;
    } else if (c.failure === undefined) incomplete++;
    if (c.failure !== undefined && c.failure !== null) {
      count(c.failure);
      if (c.headAt === 0) failedAtConnect++;
    } else if (c.headAt > 0 && c.status !== 200) count(`status ${c.status}`);
    if (c.headAt > 0 && c.status === 200) {
      totals.expected += c.expected;
      totals.lost += c.expected - c.got;
    }
    totals.duplicated += c.duplicated;
    totals.reordered += c.reordered;
    totals.wrongId += c.wrongId;
    totals.foreign += c.foreign;
  }
  const byTime = (s) => doneAt.filter((t) => t <= s * 1000).length;
  const wallMs = Math.max(...parts.map((part) => part.tEnd)) - t0;
  return {
    n: clients.length,
    t0,
    tOpened: Math.max(...parts.map((part) => part.tOpened)),
    tLast: Math.max(...parts.map((part) => part.tLast)),
    ended: [...new Set(parts.map((part) => part.ended))].join("; "),
    generators: parts.length,
    // Every generator's CPU over the storm, as a share of one core.
    cpuShare: parts.reduce((sum, part) => sum + part.cpuMs, 0) / wallMs,
    loopDelayMs: {
      p99: Math.max(...parts.map((part) => part.loopDelayMs.p99)),
      max: Math.max(...parts.map((part) => part.loopDelayMs.max)),
    },
    complete,
    incomplete,
    failedAtConnect,
    failures,
    connectMs: summary(connects),
    headersMs: summary(headers),
    replayMs: summary(replays),
    lastDoneAtMs: complete > 0 ? Math.max(...doneAt) : Number.POSITIVE_INFINITY,
    allDoneAtMs: complete === clients.length ? Math.max(...doneAt) : Number.POSITIVE_INFINITY,
    doneBy: { 1: byTime(1), 5: byTime(5), 10: byTime(10), 20: byTime(20), 60: byTime(60) },
    ...totals,
  };
}
