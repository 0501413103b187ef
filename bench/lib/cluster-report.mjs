// The cluster scenario's report: a Markdown table, and an SVG plot of
// delivered events/s and p99 latency against K (written by hand: no
// dependency).

import os from "node:os";

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "–");
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const thousands = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "–");

/** CPU time of every server process per delivered event, in ns: independent of how loaded the machine was. */
const perDelivery = (burst) => (burst.serverCpu?.reduce((a, b) => a + b, 0) * 1e9) / burst.perSec;
/** CPU time of the backplane's server per event published, in µs. */
const perEvent = (burst, events) => (burst.backplaneCpu * burst.wallMs * 1000) / events;

/** The engines in the order of the table and the legend: the cluster beside single Redis. */
const ENGINES = ["redis", "redis-cluster", "postgres"];
const rank = (engine) => (ENGINES.includes(engine) ? ENGINES.indexOf(engine) : ENGINES.length);
/** Rows by engine (in {@link ENGINES}' order), then as run. */
const byEngine = (rows) => rows.toSorted((a, b) => rank(a.engine) - rank(b.engine));
/** A row's backplane: a Redis Cluster with its masters' count. */
const engineName = (r) =>
  r.engine === "redis-cluster" ? `redis-cluster (${r.topics} masters)` : r.engine;

/** The Markdown table of a {@link runCluster} result. */
export function clusterReport({ rows, uptime, sizes }) {
  const lines = [];
  lines.push(
    `Machine: ${os.cpus().length}× ${os.cpus()[0]?.model ?? "unknown"}, Node ${process.version}. Load average (1, 5, 15 min): ${uptime.before} before, ${uptime.after} after.`,
  );
  lines.push(
    `N = ${sizes.n} clients in all, spread evenly over the K processes; burst: ${sizes.burst} events (from all: each process ${"publishes"} its share); paced: ${sizes.rate} events/s for ${sizes.seconds} s. Engines: ${sizes.engines.join(", ")}.`,
  );
  lines.push("");
  lines.push(
    "| backplane | K | clients per process | published from | delivered events/s (burst) | p50 ms (paced) | p99 ms (paced) | servers' CPU ns per delivery (all K) | backplane server's CPU µs per event | server CPU per process, burst: mean (max) | server RSS MB per process: idle → end | backplane server CPU, burst | load generators' CPU, burst |",
  );
  lines.push("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of byEngine(rows)) {
    if (r.failed) {
      lines.push(`| ${engineName(r)} | ${r.k} | – | – | failed: ${r.failed} | | | | | | | | |`);
      continue;
    }
    for (const source of ["one", "all"]) {
      const { burst, paced } = r[source];
      const cpu = burst.serverCpu ?? [];
      const rss = `${fmt(mean(r.idleRssMB))} → ${fmt(mean(burst.rssMB ?? [NaN]))}`;
      lines.push(
        `| ${engineName(r)} | ${r.k} | ${r.perProcess.join(" / ")} | ${source === "one" ? "one process" : `all ${r.k}`} | ${burst.perSec ? thousands(burst.perSec) : `incomplete (least ${burst.incomplete})`} | ${fmt(paced.p50, 2)} | ${fmt(paced.p99, 2)} | ${fmt(perDelivery(burst), 0)} | ${fmt(perEvent(burst, sizes.burst), 1)} | ${pct(mean(cpu))} (${pct(Math.max(...cpu))}) | ${rss} | ${pct(burst.backplaneCpu)} | ${pct(burst.genCpu?.reduce((a, b) => a + b, 0))} |`,
      );
    }
  }
  lines.push("");
  const lost = rows.filter((r) => r.dropped > 0 || r.localOnly > 0);
  for (const r of lost)
    lines.push(
      `Note: ${r.engine} K=${r.k}: ${r.dropped} dropped, ${r.localOnly} local-only events.`,
    );
  lines.push(
    "CPU: share of one core over the burst (100% = one core busy); this machine has " +
      `${os.cpus().length} cores for the servers, the load generators and the backplane together. ` +
      "Per delivery and per event: CPU time over the burst divided by the deliveries (events × clients) or the events published.",
  );
  if (rows.some((r) => r.engine === "redis-cluster"))
    lines.push(
      "redis-cluster: every client subscribes to one topic per master (topics of distinct hash tags, so distinct order groups), " +
        "events go to them in turn, so each process subscribes on every master; the backplane server's CPU is the sum over the masters.",
    );
  return lines.join("\n");
}

const W = 360;
const H = 240;
const M = { left: 64, right: 16, top: 28, bottom: 40 };
const COLORS = {
  "redis one": "#c0392b",
  "redis all": "#e67e22",
  "redis-cluster one": "#7d3c98",
  "redis-cluster all": "#c39bd3",
  "postgres one": "#2c5aa0",
  "postgres all": "#27a0c4",
};

/** A "nice" step for about four gridlines up to `x`, and the axis' top. */
function niceAxis(x) {
  if (!(x > 0)) return { step: 0.25, top: 1 };
  const raw = x / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
  return { step, top: Math.ceil(x / step) * step };
}

/** An axis label: 1.5M, 250k, 12.5. */
function label(v) {
  const short = (x) => String(Number(x.toFixed(2)));
  if (v >= 1e6) return `${short(v / 1e6)}M`;
  if (v >= 1e3) return `${short(v / 1e3)}k`;
  return short(v);
}

/** One panel: a line per series of [k, value] points, K on a log-2 axis. */
function panel(x0, title, series, ks) {
  const { step, top: max } = niceAxis(
    Math.max(...series.flatMap((s) => s.points.map(([, v]) => v))),
  );
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const lo = Math.log2(Math.min(...ks));
  const span = Math.max(1, Math.log2(Math.max(...ks)) - lo);
  const px = (k) => x0 + M.left + ((Math.log2(k) - lo) / span) * iw;
  const py = (v) => M.top + ih - (v / max) * ih;
  const out = [
    `<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`,
    `<line x1="${x0 + M.left}" y1="${M.top + ih}" x2="${x0 + M.left + iw}" y2="${M.top + ih}" stroke="#333"/>`,
    `<line x1="${x0 + M.left}" y1="${M.top}" x2="${x0 + M.left}" y2="${M.top + ih}" stroke="#333"/>`,
  ];
  for (let v = 0; v <= max + step / 2; v += step) {
    out.push(
      `<line x1="${x0 + M.left}" y1="${py(v)}" x2="${x0 + M.left + iw}" y2="${py(v)}" stroke="#ddd"/>`,
      `<text x="${x0 + M.left - 6}" y="${py(v) + 4}" text-anchor="end">${label(v)}</text>`,
    );
  }
  for (const k of ks)
    out.push(`<text x="${px(k)}" y="${M.top + ih + 16}" text-anchor="middle">${k}</text>`);
  out.push(
    `<text x="${x0 + M.left + iw / 2}" y="${H - 6}" text-anchor="middle">K processes</text>`,
  );
  for (const s of series) {
    const pts = s.points.map(([k, v]) => `${px(k).toFixed(1)},${py(v).toFixed(1)}`);
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(" ")}"/>`,
    );
    for (const p of pts) {
      const [x, y] = p.split(",");
      out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${s.color}"/>`);
    }
  }
  return out.join("\n");
}

/** The plot of a {@link runCluster} result: events/s and p99 against K, a line per engine and source. */
export function clusterSvg({ rows, sizes }) {
  const ok = rows.filter((r) => !r.failed);
  const ks = [...new Set(ok.map((r) => r.k))].sort((a, b) => a - b);
  const series = (pick) =>
    Object.entries(COLORS)
      .map(([name, color]) => {
        const [engine, source] = name.split(" ");
        const points = ok
          .filter((r) => r.engine === engine && Number.isFinite(pick(r[source])))
          .map((r) => [r.k, pick(r[source])]);
        return { name, color, points };
      })
      .filter((s) => s.points.length > 0);
  const rate = series((x) => x.burst.perSec);
  const p99 = series((x) => x.paced.p99);
  if (ks.length === 0 || rate.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg"/>\n';
  // The legend: a column per engine (in the table's order), a line per source.
  const columns = [...new Set(rate.map((s) => s.name.split(" ")[0]))];
  const legend = rate.map((s) => {
    const [engine, source] = s.name.split(" ");
    const x = 16 + columns.indexOf(engine) * 230;
    const y = H + 6 + (source === "one" ? 0 : 18);
    return `<rect x="${x}" y="${y}" width="12" height="12" fill="${s.color}"/><text x="${x + 18}" y="${y + 10}">${engine}, ${source === "one" ? "from one process" : "from all"}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 44}" viewBox="0 0 ${2 * W} ${H + 44}" font-family="sans-serif" font-size="11">
<title>Delivered events/s and p99 latency against K processes, N = ${sizes.n}</title>
<rect width="100%" height="100%" fill="#fff"/>
${panel(0, `Delivered events/s, burst (N = ${sizes.n})`, rate, ks)}
${panel(W, `p99 publish-to-receive, ms (${sizes.rate} events/s paced)`, p99, ks)}
${legend.join("\n")}
</svg>
`;
}
