// The resume-storm benchmark (issue #26): a fresh server whose topics' events
// only the backplane holds, and N clients reconnecting within a second with
// Last-Event-ID, on the in-memory broker, Redis and PostgreSQL. See
// bench/README.md ("Resume storms") for the method and the variables.
//
//   node bench/storm.mjs                          # this checkout's builds
//   node bench/storm.mjs --against main           # and main's, built in a temporary worktree
//   BENCH_STORM_CHECKOUT=/path/to/checkout node bench/storm.mjs   # another checkout's builds
//   BENCH_SCENARIOS=storm pnpm bench [--against <ref>]           # the same through pnpm bench

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { envList, parseBenchArgs, USAGE } from "./lib/args.mjs";
import { describeRef, isDirty, repoRoot, TempCheckout } from "./lib/checkout.mjs";
import { log } from "./lib/pair.mjs";
import { ENGINES } from "./lib/storm-backplane.mjs";
import { stormReport, sysctl } from "./lib/storm-report.mjs";
import { runStorm } from "./lib/storm-run.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const num = (name, fallback) => {
  const value = env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`bench: ${name} must be a number, got ${JSON.stringify(env[name])}`);
  return value;
};

/** The variables the storm reads, shown in the report's command when set. */
const SETTINGS = [
  "BENCH_STORM_BACKPLANES",
  "BENCH_STORM_N",
  "BENCH_STORM_EVENTS",
  "BENCH_STORM_SPREAD",
  "BENCH_STORM_TOPICS",
  "BENCH_STORM_SIZE",
  "BENCH_STORM_CONNECT_MS",
  "BENCH_STORM_TIMEOUT_MS",
  "BENCH_STORM_QUIET_MS",
  "BENCH_STORM_BACKLOG",
  "BENCH_STORM_IDLE_MS",
  "BENCH_STORM_GENERATORS",
  "BENCH_STORM_CLIENT",
  "BENCH_STORM_CHECKOUT",
];

/** The storm's settings, from the environment (bench/README.md lists them). */
function settings() {
  const engines = envList(env.BENCH_STORM_BACKPLANES, ENGINES.join(","));
  for (const engine of engines)
    if (!ENGINES.includes(engine))
      throw new Error(
        `bench: BENCH_STORM_BACKPLANES: unknown backplane ${JSON.stringify(engine)} (${ENGINES.join(", ")})`,
      );
  const ns = env.BENCH_STORM_N ? envList(env.BENCH_STORM_N, "").map(Number) : undefined;
  if (ns?.some((n) => !Number.isSafeInteger(n) || n < 1))
    throw new Error(
      `bench: BENCH_STORM_N must list whole numbers, got ${JSON.stringify(env.BENCH_STORM_N)}`,
    );
  const cfg = {
    events: num("BENCH_STORM_EVENTS", 100),
    spread: Math.max(1, num("BENCH_STORM_SPREAD", 10)),
    topics: Math.max(1, num("BENCH_STORM_TOPICS", 100)),
    size: num("BENCH_STORM_SIZE", 100),
    connectMs: Math.max(1, num("BENCH_STORM_CONNECT_MS", 1000)),
    timeoutMs: num("BENCH_STORM_TIMEOUT_MS", 180_000),
    quietMs: num("BENCH_STORM_QUIET_MS", 15_000),
    idleMs: num("BENCH_STORM_IDLE_MS", 3000),
    generators: Math.max(1, Math.round(num("BENCH_STORM_GENERATORS", 2))),
    client: clientKind(env.BENCH_STORM_CLIENT),
    probeMs: 10,
  };
  // The issue's sizes: 5,000 clients everywhere, and 1,000 too on the backplanes.
  const nsFor = (engine) =>
    ns ?? (engine === "memory" || engine === "floor" ? [5000] : [1000, 5000]);
  return { engines, nsFor, cfg };
}

/**
 * BENCH_STORM_CLIENT: "native" (lib/storm-gen.c reads the clients, the default: the load
 * generator must not be the bottleneck) or "js" (lib/storm-clients.mjs, no C compiler needed).
 */
function clientKind(value) {
  const kind = value === undefined || value === "" ? "native" : value;
  if (kind !== "js" && kind !== "native")
    throw new Error(`bench: BENCH_STORM_CLIENT must be js or native, got ${JSON.stringify(value)}`);
  return kind;
}

const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/**
 * Runs the storms for this checkout (or BENCH_STORM_CHECKOUT) and, with
 * `against`, for that commit built in a temporary worktree; prints the
 * report and writes it to bench/results/storm.{md,json}.
 */
export async function stormMain({ against } = {}) {
  const { engines, nsFor, cfg } = settings();
  const repo = repoRoot(here);
  const startedAt = Date.now();
  const other = env.BENCH_STORM_CHECKOUT ? resolve(env.BENCH_STORM_CHECKOUT) : undefined;
  let head = { short: "(not a git checkout)", subject: "" };
  let dirty = false;
  try {
    head = describeRef(other ?? repo, "HEAD");
    dirty = isDirty(other ?? repo, ["packages"]);
  } catch {
    // BENCH_STORM_CHECKOUT may be a copy outside git: its builds are all that matters.
  }
  const sides = [
    {
      key: "A",
      checkout: other,
      label: `${other ?? "this checkout"}, HEAD ${head.short} "${head.subject.slice(0, 72)}"${dirty ? " with uncommitted changes under packages/" : ""}, as built`,
    },
  ];
  const meta = {
    started: new Date().toISOString().slice(0, 16).replace("T", " "),
    machine: `${os.cpus().length}× ${os.cpus()[0]?.model ?? "unknown"}, Node ${process.version}, ${os.platform()} ${os.release()}`,
    somaxconn: sysctl("/proc/sys/net/core/somaxconn"),
    synBacklog: sysctl("/proc/sys/net/ipv4/tcp_max_syn_backlog"),
    backlog: num("BENCH_STORM_BACKLOG", 8192),
    loadBefore: loadavg(),
    engines,
    cfg,
    command: `${SETTINGS.filter((name) => env[name])
      .map((name) => `${name}=${env[name]} `)
      .join("")}node bench/storm.mjs${against ? ` --against ${against}` : ""}`,
    sides,
  };
  let checkout;
  try {
    if (against !== undefined) {
      const b = describeRef(repo, against);
      log(`storm: building ${against} (${b.short})`);
      checkout = new TempCheckout(repo, b.commit);
      await checkout.build(["@burrow/sse-core", "@burrow/sse-redis", "@burrow/sse-postgres"]);
      sides.push({
        key: "B",
        checkout: checkout.dir,
        label: `${against === b.short ? "" : `${against} = `}${b.short} "${b.subject.slice(0, 72)}", built in a temporary worktree`,
      });
    }
    log(
      `storm: ${engines.map((e) => `${e} N=${nsFor(e).join(",")}`).join("; ")}; sides ${sides.map((x) => x.key).join(", ")}; load ${meta.loadBefore}`,
    );
    meta.cells = await runStorm(sides, engines, nsFor, cfg);
  } finally {
    checkout?.remove();
  }
  meta.loadAfter = loadavg();
  meta.minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
  const table = stormReport(meta.cells, meta);
  console.log(table);
  const outDir = env.BENCH_STORM_RESULTS ? resolve(env.BENCH_STORM_RESULTS) : join(here, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "storm.md"), `${table}\n`);
  writeFileSync(join(outDir, "storm.json"), `${JSON.stringify(meta, null, 2)}\n`);
  log(`written ${join(outDir, "storm.md")}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const args = parseBenchArgs(process.argv.slice(2), env);
    if (args.help) console.log(USAGE);
    else await stormMain({ against: args.against });
    process.exit(0);
  } catch (err) {
    console.error(String(err?.message).startsWith("bench: ") ? err.message : err);
    process.exit(1);
  }
}
