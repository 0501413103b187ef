// The backplanes the cluster scenario runs on (one Redis, a Redis Cluster,
// one PostgreSQL, on this machine), what a run leaves in them removed, and
// the CPU time their server processes used, read from /proc.

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { cli, clusterPids, dropClusterPrefix } from "./redis-cluster.mjs";

const run = promisify(execFile);
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** The Redis Cluster's nodes (`host:port`), from REDIS_CLUSTER_NODES (read late: cluster.mjs may set it). */
export const clusterNodes = () => (process.env.REDIS_CLUSTER_NODES ?? "127.0.0.1:7000").split(",");

/** A prefix no other run uses, in the form each engine takes. */
export function uniquePrefix(engine) {
  const id = randomBytes(4).toString("hex");
  return engine === "postgres" ? `bench_cluster_${id}_` : `bench:cluster:${id}:`;
}

/**
 * The backplane of `engine` under `prefix`, with `maxPending` far above any
 * burst of the scenario: it measures throughput, not that cap (unless
 * `defaults`: the options a user would start with). `redis-cluster`: a Redis
 * Cluster (7+) already running, its nodes in REDIS_CLUSTER_NODES.
 */
export async function backplaneFor(engine, prefix, defaults = false) {
  const cap = defaults ? {} : { maxPending: 1_000_000 };
  if (engine === "postgres") {
    const { postgresBackplane } = await import("@burrow/sse-postgres");
    return postgresBackplane({ connectionString: DATABASE_URL, prefix, logger: false, ...cap });
  }
  if (engine === "redis") {
    const { redisBackplane } = await import("@burrow/sse-redis");
    return redisBackplane({ url: REDIS_URL, prefix, logger: false, ...cap });
  }
  if (engine === "redis-cluster") {
    const { redisBackplane } = await import("@burrow/sse-redis");
    return redisBackplane({ cluster: { nodes: clusterNodes() }, prefix, logger: false, ...cap });
  }
  throw new Error(`bench: unknown backplane ${engine} (redis, redis-cluster or postgres)`);
}

/** Whether `engine`'s server answers (the scenario skips an engine that does not). */
export async function reachable(engine) {
  try {
    if (engine === "redis") {
      const { stdout } = await run("redis-cli", ["-u", REDIS_URL, "PING"], { timeout: 5000 });
      return stdout.trim() === "PONG";
    }
    if (engine === "redis-cluster")
      return (await cli(clusterNodes()[0], ["CLUSTER", "INFO"])).includes("cluster_state:ok");
    await pgQuery("SELECT 1");
    return true;
  } catch {
    return false;
  }
}

/** Runs `sql`, then `then(result)` while the connection (its backend process) is still open. */
async function pgQuery(sql, then = (result) => result) {
  const pg = (await import("pg")).default;
  const client = new pg.Client(DATABASE_URL);
  await client.connect();
  try {
    return then(await client.query(sql));
  } finally {
    await client.end();
  }
}

/** Deletes what a run stored under `prefix` (Redis keys; PostgreSQL tables and function). */
export async function dropPrefix(engine, prefix) {
  if (engine === "redis-cluster") return dropClusterPrefix(clusterNodes()[0], prefix);
  if (engine === "redis") {
    const { stdout } = await run("redis-cli", [
      "-u",
      REDIS_URL,
      "--scan",
      "--pattern",
      `${prefix}*`,
    ]);
    const keys = stdout.split("\n").filter(Boolean);
    for (let i = 0; i < keys.length; i += 500)
      await run("redis-cli", ["-u", REDIS_URL, "DEL", ...keys.slice(i, i + 500)]);
    return;
  }
  const pg = (await import("pg")).default;
  const client = new pg.Client(DATABASE_URL);
  await client.connect();
  try {
    for (const table of ["meta", "events", "topics"])
      await client.query(`DROP TABLE IF EXISTS ${prefix}${table} CASCADE`);
    const { rows } = await client.query(
      "SELECT p.oid::regprocedure AS f FROM pg_proc p WHERE p.proname LIKE $1",
      [`${prefix}%`],
    );
    for (const { f } of rows) await client.query(`DROP FUNCTION IF EXISTS ${f}`);
  } finally {
    await client.end();
  }
}

const TICKS = 100; // USER_HZ: /proc counts CPU time in 1/100 s on Linux

/** utime + stime (+ cutime + cstime with `children`) of `pid`, in ms; 0 once it is gone. */
function cpuOfPid(pid, children = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    const own = Number(f[11]) + Number(f[12]);
    const reaped = children ? Number(f[13]) + Number(f[14]) : 0;
    return ((own + reaped) * 1000) / TICKS;
  } catch {
    return 0;
  }
}

function ppidOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

/**
 * A reader of the backplane server's CPU time (ms, every process of it): for
 * Redis the redis-server its INFO names; for PostgreSQL the postmaster of a
 * backend, its live children (the backends, the WAL writer, ...) and the
 * children it has reaped; for a Redis Cluster the sum over its masters
 * (NaN when one is not a process of this machine). It counts what every user
 * of that server costs: other work on the same Redis or PostgreSQL shows up
 * in it too.
 */
export async function backplaneCpuReader(engine) {
  if (engine === "redis-cluster") {
    const pids = await clusterPids(clusterNodes()[0]);
    if (!pids.every((pid) => pid > 0 && existsSync(`/proc/${pid}`))) return () => Number.NaN;
    return () => pids.reduce((sum, pid) => sum + cpuOfPid(pid), 0);
  }
  let root;
  if (engine === "redis") {
    const { stdout } = await run("redis-cli", ["-u", REDIS_URL, "INFO", "server"]);
    root = Number(/process_id:(\d+)/.exec(stdout)?.[1]);
  } else {
    root = await pgQuery("SELECT pg_backend_pid() AS pid", ({ rows }) => ppidOf(rows[0].pid));
  }
  if (!(root > 0)) return () => Number.NaN;
  return () => {
    let total = cpuOfPid(root, engine === "postgres");
    if (engine === "postgres")
      for (const name of readdirSync("/proc"))
        if (/^\d+$/.test(name) && ppidOf(name) === root) total += cpuOfPid(name);
    return total;
  };
}
