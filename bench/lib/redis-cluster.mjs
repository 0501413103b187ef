// A Redis Cluster for the cluster scenario: the one in REDIS_CLUSTER_NODES,
// or else a private one the bench starts itself (3 masters, no replicas, as
// redis-server child processes on free ports, joined by `redis-cli --cluster
// create`: the approach of packages/sse-redis/src/fixtures/cluster.ts, in
// plain .mjs and with redis-cli only), stopped at the end, on failure and on
// SIGINT. Also: its masters, topics whose hash tags put one on each master,
// what a run left in it removed, and its servers' process ids.

import { execFile, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./pair.mjs";

/** Runs `redis-cli -h host -p port ...args` (commands on stdin with `input`); resolves with stdout. */
export function cli(node, args, input) {
  const [host, port] = node.split(":");
  return new Promise((resolve, reject) => {
    const child = execFile(
      "redis-cli",
      ["-h", host, "-p", port, ...args],
      { timeout: 30_000, maxBuffer: 64 * 2 ** 20 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
    child.stdin.end(input ?? "");
  });
}

/** Why no private cluster can be started here (redis-server 7+ and redis-cli needed), or undefined. */
export function clusterToolsMissing() {
  try {
    const version = execFileSync("redis-server", ["--version"], { encoding: "utf8" });
    const major = Number(/v=(\d+)\./.exec(version)?.[1]);
    if (!(major >= 7)) return `redis-server is ${major}: sharded pub/sub needs 7 or later`;
    execFileSync("redis-cli", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch (err) {
    return `no redis-server or redis-cli on PATH (${String(err?.message ?? err).split("\n")[0]})`;
  }
}

/**
 * The masters of a `CLUSTER NODES` answer that serve slots: `node`
 * (`host:port`, the cluster-bus port and hostname dropped), `id` and the
 * slot ranges `[from, to]` (migrating/importing marks `[...]` ignored).
 */
export function parseClusterNodes(text) {
  const masters = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[2].split(",").includes("master") || f[2].includes("fail")) continue;
    const slots = f
      .slice(8)
      .filter((s) => !s.startsWith("["))
      .map((s) => s.split("-").map(Number))
      .map(([from, to]) => [from, to ?? from]);
    if (slots.length > 0) masters.push({ id: f[0], node: f[1].split("@")[0].split(",")[0], slots });
  }
  return masters;
}

/**
 * One topic per master: the first of `candidates` whose slot (`slotOf`,
 * topic → slot) that master serves, in the order of `masters`. Throws when
 * a master gets none (more candidates needed).
 */
export function topicPerMaster(masters, candidates, slotOf) {
  return masters.map(({ node, slots }) => {
    const topic = candidates.find((t) =>
      slots.some(([from, to]) => from <= slotOf.get(t) && slotOf.get(t) <= to),
    );
    if (topic === undefined) throw new Error(`bench: no candidate topic falls on master ${node}`);
    return topic;
  });
}

/** The serving masters of the cluster that `node` belongs to. */
export async function clusterMasters(node) {
  return parseClusterNodes(await cli(node, ["CLUSTER", "NODES"]));
}

/**
 * Topics `bench:{t<i>}` (each its own order group, by its hash tag), one on
 * each master of the cluster of `node`: a client subscribed to them all makes
 * its process subscribe on every master.
 */
export async function topicsOverMasters(node) {
  const masters = await clusterMasters(node);
  const candidates = Array.from({ length: 64 }, (_, i) => `bench:{t${i}}`);
  const answer = await cli(node, [], candidates.map((t) => `CLUSTER KEYSLOT ${t}\n`).join(""));
  const slots = answer.split("\n").filter(Boolean).map(Number);
  return topicPerMaster(masters, candidates, new Map(candidates.map((t, i) => [t, slots[i]])));
}

/** Deletes the keys under `prefix` on every master of the cluster of `node` (one DEL each: keys of many slots). */
export async function dropClusterPrefix(node, prefix) {
  for (const { node: master } of await clusterMasters(node)) {
    const found = await cli(master, ["--scan", "--pattern", `${prefix}*`]);
    const keys = found.split("\n").filter(Boolean);
    if (keys.length > 0) await cli(master, [], keys.map((k) => `DEL "${k}"\n`).join(""));
  }
}

/** The process id of every master of the cluster of `node` (from INFO server). */
export async function clusterPids(node) {
  const masters = await clusterMasters(node);
  const infos = await Promise.all(masters.map((m) => cli(m.node, ["INFO", "server"])));
  return infos.map((info) => Number(/process_id:(\d+)/.exec(info)?.[1]));
}

/** Whether `port` can be listened on at 127.0.0.1 now. */
async function portFree(port) {
  const server = createServer();
  const listening = await new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.once("listening", () => resolve(true));
    server.listen(port, "127.0.0.1");
  });
  if (listening) await new Promise((resolve) => server.close(resolve));
  return listening;
}

/** `count` free ports whose cluster-bus port (+10 000) is free too. */
async function clusterPorts(count) {
  const ports = [];
  let port = 20000 + Math.floor(Math.random() * 20000);
  while (ports.length < count) {
    port++;
    if ((await portFree(port)) && (await portFree(port + 10000))) ports.push(port);
  }
  return ports;
}

/** Calls `test()` every 100 ms until it is true; throws naming `what` after `ms`. */
async function until(test, what, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await test().catch(() => false))) {
    if (Date.now() > end) throw new Error(`bench: ${what}: not in ${ms} ms`);
    await sleep(100);
  }
}

/**
 * Starts a private cluster of `masters` masters (no replicas); resolves with
 * `{ nodes, stop }` once every node says `cluster_state:ok`. Its processes
 * are killed and its directory removed by `stop()`, and also when this
 * process exits or gets SIGINT or SIGTERM before that.
 */
export async function startRedisCluster(masters = 3) {
  const dir = mkdtempSync(join(tmpdir(), "burrow-bench-cluster-"));
  const ports = await clusterPorts(masters);
  const children = ports.map((port) =>
    spawn(
      "redis-server",
      [
        ...["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"],
        ...["--cluster-config-file", join(dir, `nodes-${port}.conf`), "--dir", dir],
        ...["--save", "", "--appendonly", "no", "--daemonize", "no"],
        ...["--cluster-announce-ip", "127.0.0.1"],
      ],
      { stdio: "ignore" },
    ),
  );
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const running = (child) => child.exitCode === null && child.signalCode === null;
  const killAll = () => {
    for (const child of children) if (running(child)) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    killAll();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("exit", killAll);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stop = async () => {
    process.off("exit", killAll);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    const exits = children.filter(running).map((child) => once(child, "exit"));
    killAll();
    await Promise.all(exits);
  };
  try {
    await until(
      async () =>
        (await Promise.all(nodes.map((n) => cli(n, ["PING"])))).every((a) => a.trim() === "PONG"),
      "the cluster's redis-servers to start",
    );
    if (masters === 1) await cli(nodes[0], ["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    else
      await cli(nodes[0], [
        "--cluster",
        "create",
        ...nodes,
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ]);
    await until(
      async () =>
        (await Promise.all(nodes.map((n) => cli(n, ["CLUSTER", "INFO"])))).every((info) =>
          info.includes("cluster_state:ok"),
        ),
      "the cluster to be ok",
    );
    return { nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
