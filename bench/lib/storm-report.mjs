// The storm's tables: one per backplane, a column per client count and side,
// a row per figure, with the issue's target (#26) beside the figures it
// bounds, marked met (✓) or not (✗).

import { readFileSync } from "node:fs";

const ENGINE_NAMES = {
  floor: "the floor: node:http alone, one head and one write per client",
  memory: "in memory",
  redis: "Redis",
  postgres: "PostgreSQL",
};
const MB = 2 ** 20;
/** All replays done within: the issue's target per backplane, seconds. */
const ALL_DONE_S = { redis: 10, postgres: 20 };

const s = (ms, d = 2) =>
  ms === Number.POSITIVE_INFINITY || ms === null ? "never" : (ms / 1000).toFixed(d);
const ms = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const mark = (ok) => (ok ? " ✓" : " ✗");

/** A kernel setting (sysctl) as text, or "unknown". */
export function sysctl(path) {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "unknown";
  }
}

/**
 * The rows: [figure, target, (cell) => text]. A cell that failed shows its
 * error in the first row only.
 */
const ROWS = [
  [
    "load average (1 min) at start / end",
    "",
    (c) => `${ms(c.loadBefore, 2)} / ${ms(c.loadAfter, 2)}`,
  ],
  [
    "TCP connected after p50 / p99 / max, s (SYN and accept queues)",
    "",
    (c) => {
      const h = c.clients.connectMs;
      return h === undefined ? "n/a" : `${s(h.p50)} / ${s(h.p99)} / ${s(h.max)}`;
    },
  ],
  [
    "time to headers p50 / p99 / max, s",
    "p99 ≤ 1 s",
    (c) => {
      const h = c.clients.headersMs;
      return `${s(h.p50)} / ${s(h.p99)}${mark(h.p99 <= 1000)} / ${s(h.max)}`;
    },
  ],
  [
    "replay complete p50 / p99 / max, s (from each client's connect)",
    "",
    (c) => {
      const r = c.clients.replayMs;
      return `${s(r.p50)} / ${s(r.p99)} / ${s(r.max)}`;
    },
  ],
  [
    "all replays done at, s after the first connect",
    "≤ 10 s Redis, ≤ 20 s PostgreSQL",
    (c) => {
      const { allDoneAtMs: at, lastDoneAtMs: last, complete, n } = c.clients;
      const bound = ALL_DONE_S[c.engine];
      const partly = complete < n ? ` (the last of ${complete} done at ${s(last, 1)})` : "";
      return `${s(at, 1)}${bound === undefined ? "" : mark(at <= bound * 1000)}${partly}`;
    },
  ],
  [
    "replays done by +1 / +5 / +10 / +20 / +60 s",
    "",
    (c) => Object.values(c.clients.doneBy).join(" / "),
  ],
  [
    "connects the kernel's listen queue dropped (sent again a second later)",
    "",
    (c) => (Number.isFinite(c.listenOverflows) ? String(c.listenOverflows) : "n/a"),
  ],
  ["clients reset or failed at connect", "", (c) => String(c.clients.failedAtConnect)],
  [
    "other failures; clients still incomplete at the end",
    "",
    (c) => {
      const { failures, incomplete } = c.clients;
      const other = Object.entries(failures)
        .filter(([why]) => why !== "closed before the headers" && !/^E[A-Z]+$/.test(why))
        .map(([why, count]) => `${count} ${why}`);
      const atConnect = Object.entries(failures)
        .filter(([why]) => why === "closed before the headers" || /^E[A-Z]+$/.test(why))
        .map(([why, count]) => `${count} ${why}`);
      return `${[...other, ...(atConnect.length > 0 ? [`(at connect: ${atConnect.join(", ")})`] : [])].join(", ") || "none"}; ${incomplete}`;
    },
  ],
  [
    "server RSS idle → peak, MB (over idle)",
    "< 200 MB over idle",
    (c) => {
      const over = (c.peakRss - c.idleRss) / MB;
      return `${ms(c.idleRss / MB, 0)} → ${ms(c.peakRss / MB, 0)} (${ms(over, 0)}${mark(over < 200)})`;
    },
  ],
  [
    "publisher round trip p50 / p99 idle, ms",
    "",
    (c) => (c.probe ? `${ms(c.probe.idle.p50, 2)} / ${ms(c.probe.idle.p99, 2)}` : "n/a"),
  ],
  [
    "publisher round trip p50 / p99 / max during, ms",
    "p99 < 10 ms on Redis",
    (c) =>
      c.probe
        ? `${ms(c.probe.during.p50, 2)} / ${ms(c.probe.during.p99, 2)}${c.engine === "redis" ? mark(c.probe.during.p99 < 10) : ""} / ${ms(c.probe.during.max, 0)} (${c.probe.during.count} events${c.probe.lost > 0 ? `, ${c.probe.lost} never came back` : ""})`
        : "n/a",
  ],
  [
    "server event-loop delay p99 / max during, ms",
    "",
    (c) => `${ms(c.loopDelay?.p99, 0)} / ${ms(c.loopDelay?.max, 0)}`,
  ],
  [
    "events lost / duplicated / reordered / wrong id",
    "0",
    (c) => {
      const k = c.clients;
      const bad = k.lost + k.duplicated + k.reordered + k.wrongId + k.foreign;
      return `${k.lost} / ${k.duplicated} / ${k.reordered} / ${k.wrongId}${k.foreign > 0 ? ` (+${k.foreign} foreign)` : ""} of ${k.expected}${mark(bad === 0)}`;
    },
  ],
  [
    "server: resumes / resume misses",
    "",
    (c) => `${c.serverStats?.resumed ?? "–"} / ${c.serverStats?.resumeMisses ?? "–"}`,
  ],
  [
    "load generators: CPU (share of one core, all together), event-loop delay p99 / max (ms, the worst)",
    "",
    (c) =>
      `${ms(c.clients.cpuShare * 100, 0)} %, ${ms(c.clients.loopDelayMs?.p99, 0)} / ${ms(c.clients.loopDelayMs?.max, 0)}`,
  ],
  [
    "every client opened within, s; the storm ended because",
    "",
    (c) => `${s(c.clients.tOpened - c.clients.t0)}; ${c.clients.ended}`,
  ],
];

/** The Markdown report of `cells` (from runStorm), with `meta` (machine, sides, settings, command). */
export function stormReport(cells, meta) {
  const lines = [`## Resume storms (issue #26)`, ""];
  for (const side of meta.sides) lines.push(`- ${side.key}: ${side.label}`);
  lines.push(
    `- Machine: ${meta.machine}; net.core.somaxconn ${meta.somaxconn}, tcp_max_syn_backlog ${meta.synBacklog}; listen backlog asked ${meta.backlog} (the kernel caps it at somaxconn)`,
    `- ${meta.started} UTC, ${meta.minutes} min; load average ${meta.loadBefore} before, ${meta.loadAfter} after`,
    `- Each client resumes one of ${meta.cfg.topics} topics with the Last-Event-ID of an event ${meta.cfg.events}–${meta.cfg.events + meta.cfg.spread - 1} events before the topic's end (${meta.cfg.size} B each); the clients connect evenly over ${meta.cfg.connectMs} ms, from ${meta.cfg.generators} load-generator process(es)${meta.cfg.client === "native" ? " reading natively (lib/storm-gen.c)" : ""}; the publisher sends one event every ${meta.cfg.probeMs} ms (idle: the ${meta.cfg.idleMs / 1000} s before the first connect; during: until the last event arrived)`,
    `- Command: ${meta.command}`,
    "",
  );
  for (const engine of meta.engines) {
    const mine = cells
      .filter((c) => c.engine === engine)
      .sort((a, b) => a.n - b.n || a.side.localeCompare(b.side));
    if (mine.length === 0) continue;
    lines.push(`### ${ENGINE_NAMES[engine] ?? engine}`, "");
    const heads = mine.map((c) => `N = ${c.n}${meta.sides.length > 1 ? ` ${c.side}` : ""}`);
    lines.push(`| figure | target | ${heads.join(" | ")} |`);
    lines.push(`|---|---|${mine.map(() => "---:").join("|")}|`);
    for (const [i, [figure, target, cell]] of ROWS.entries()) {
      const texts = mine.map((c) => {
        if (c.error !== undefined) return i === 0 ? `failed: ${c.error.slice(0, 80)}` : "";
        return cell(c);
      });
      lines.push(`| ${figure} | ${target} | ${texts.join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
