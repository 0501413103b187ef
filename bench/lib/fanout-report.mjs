// The fan-out benchmark's Markdown tables (run.mjs), from the results of its
// scenarios (fanout-scenarios.mjs): the issue's targets as ratios, then burst,
// single events, paced, idle memory, wide and stuck, each the median of the runs.

import os from "node:os";
import { pacedFor, STUCK, ticksFor, WIDE_EVENTS } from "./fanout-scenarios.mjs";
import { BURST, EVENT_SIZE } from "./pair.mjs";
import { median } from "./stats.mjs";

/** Events per second as millions, or "incomplete". */
export const fmtRate = (x) => (Number.isFinite(x) ? `${(x / 1e6).toFixed(3)} M/s` : "incomplete");
const fmtRatio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–";
/** `x` with `d` decimals, or "–" when it is not a number. */
export const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");

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

/**
 * The Markdown tables of a run: a header from `meta` (machine, load average,
 * duration, command), the issue's targets, then one table per scenario that
 * has results. `config` is what the run was asked for: `servers` (in table
 * order), `coreServers` (the ones the targets table checks), `ns` (fanout
 * client counts), `runs` (per figure) and `wideN` (the wide client count).
 */
export function fanoutReport({ fanouts, stucks, wides }, meta, config) {
  const { servers, coreServers, ns: fanoutNs, runs, wideN } = config;
  const lines = [];
  const pick = (kind, n, fn) => median(fanouts.filter((r) => r.kind === kind && r.n === n).map(fn));
  const pickWide = (kind, fn) => median(wides.filter((r) => r.kind === kind).map(fn));
  const burstOf = (kind, n) => pick(kind, n, (r) => r.burst?.perSec);
  const ticksOf = (kind, n) => pick(kind, n, (r) => r.ticks?.perSec);
  const p50Of = (kind, n) => pick(kind, n, (r) => r.latency?.p50);
  const p99Of = (kind, n) => pick(kind, n, (r) => r.latency?.p99);
  // Idle memory is measured by the fanout scenario at its Ns and by the wide one at wideN.
  const memOf = (kind, n) =>
    median(
      [...fanouts, ...wides].filter((r) => r.kind === kind && r.n === n).map((r) => r.memPerConn),
    );
  const ticksCpuOf = (kind, n) => pick(kind, n, (r) => r.ticks?.serverNsPerEvent);
  const figureOf = { memory: memOf, burst: burstOf, ticksCpu: ticksCpuOf, p99: p99Of };
  const runsOf = (kind, n) => fanouts.filter((r) => r.kind === kind && r.n === n).length;
  /** One table row (`row(kind, n)`) per server and N that ran, N first. */
  const eachRun = (row) => {
    for (const n of fanoutNs)
      for (const kind of servers) if (runsOf(kind, n) > 0) lines.push(row(kind, n));
  };

  lines.push(
    `Machine: ${meta.cpus}× ${meta.cpuModel}, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  lines.push(
    `Load average: ${meta.loadBefore} before, ${meta.loadAfter} after. Duration: ${meta.minutes} min.`,
  );
  lines.push(`Runs per figure: ${runs} (median). Command: ${meta.command}`);
  lines.push("");

  const cores = servers.filter((kind) => coreServers.includes(kind));
  const targetNs = [...new Set([...fanoutNs, ...(wides.length > 0 ? [wideN] : [])])];
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
    eachRun((kind, n) => {
      const v = burstOf(kind, n);
      const cpu = pick(kind, n, (r) => r.burst?.genCpu);
      const ns = pick(kind, n, (r) => r.burst?.serverNsPerEvent);
      const nsRef = pick("raw-join", n, (r) => r.burst?.serverNsPerEvent);
      return `| ${kind} | ${n} | ${fmtRate(v)} | ${fmtRatio(v, burstOf("raw", n))} | ${fmtRatio(v, burstOf("raw-join", n))} | ${fmtRatio(v, burstOf("better-sse", n))} | ${fmt(ns, 0)} | ${fmtRatio(ns, nsRef)} | ${fmt(cpu * 100, 0)}% |`;
    });
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
    eachRun((kind, n) => {
      const v = ticksOf(kind, n);
      const cpu = pick(kind, n, (r) => r.ticks?.genCpu);
      const ns = pick(kind, n, (r) => r.ticks?.serverNsPerEvent);
      const nsRef = pick("raw", n, (r) => r.ticks?.serverNsPerEvent);
      return `| ${kind} | ${n} | ${ticksFor(n)} | ${fmtRate(v)} | ${fmtRatio(v, ticksOf("raw", n))} | ${fmtRatio(v, ticksOf("better-sse", n))} | ${fmt(ns, 0)} | ${fmtRatio(ns, nsRef)} | ${fmt(cpu * 100, 0)}% |`;
    });
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
    eachRun((kind, n) => {
      const p = pacedFor(n);
      const v = p99Of(kind, n);
      return `| ${kind} | ${n} | ${p.k} × ${p.intervalMs} ms | ${fmt(p50Of(kind, n), 2)} | ${fmt(v, 2)} | ${fmtRatio(v, p99Of("raw", n))} | ${fmtRatio(v, p99Of("better-sse", n))} | ${fmt(
        pick(kind, n, (r) => r.latency?.fanoutP50),
        2,
      )} / ${fmt(
        pick(kind, n, (r) => r.latency?.fanoutP99),
        2,
      )} |`;
    });
    lines.push("");
    lines.push("### Idle memory per connection (after GC)");
    lines.push("Server heap used + external, with N idle clients, minus the same with none.");
    lines.push("");
    lines.push("| server | N | KB/conn | × raw | × better-sse | RSS KB/conn |");
    lines.push("|---|---:|---:|---:|---:|---:|");
    eachRun((kind, n) => {
      const v = memOf(kind, n);
      const rss = pick(kind, n, (r) => r.rssPerConn);
      return `| ${kind} | ${n} | ${fmt(v / 1024, 2)} | ${fmtRatio(v, memOf("raw", n))} | ${fmtRatio(v, memOf("better-sse", n))} | ${fmt(rss / 1024, 2)} |`;
    });
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
    lines.push(`### N = ${wideN}: idle memory and one event to all clients`);
    lines.push(
      `Idle memory as above. One event: ${WIDE_EVENTS} single events of ${EVENT_SIZE} B per run, each published alone and waited for on every client (median per run, then median of the runs): from publish until the last client has it (this includes the load generator reading every socket), the server's part (from publish until every write was handed to the kernel) and the server's CPU time.`,
    );
    lines.push("");
    lines.push(
      "| server | KB/conn | × raw | × better-sse | RSS KB/conn | one event to all, ms | × raw | × raw-join | × better-sse | server write ms | server CPU ms |",
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    const toAllOf = (kind) => pickWide(kind, (r) => r.toAllMs);
    for (const kind of servers) {
      if (!wides.some((r) => r.kind === kind)) continue;
      const mem = memOf(kind, wideN);
      const t = toAllOf(kind);
      lines.push(
        `| ${kind} | ${fmt(mem / 1024, 2)} | ${fmtRatio(mem, memOf("raw", wideN))} | ${fmtRatio(mem, memOf("better-sse", wideN))} | ${fmt(pickWide(kind, (r) => r.rssPerConn) / 1024, 2)} | ${fmt(t, 1)} | ${fmtRatio(t, toAllOf("raw"))} | ${fmtRatio(t, toAllOf("raw-join"))} | ${fmtRatio(t, toAllOf("better-sse"))} | ${fmt(
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
    for (const kind of servers) {
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
