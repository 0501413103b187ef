// One storm, end to end (see bench/README.md, "Resume storms"): seed the
// topics through the backplane, start a fresh server, start the probe, let
// N clients reconnect with Last-Event-ID within a second, and collect what
// the clients, the server, its memory and the probe saw. Every process is a
// child of this one; each is stopped and the run's prefix deleted at the end.

import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { log, sleep } from "./pair.mjs";
import { now, spawnChild } from "./proc.mjs";
import { dropPrefix, freshPrefix } from "./storm-backplane.mjs";
import { tallyStorm } from "./storm-tally.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, "storm-peer.mjs");
const SERVER = join(here, "storm-server.mjs");
const CLIENTS = join(here, "storm-clients.mjs");

/** A child's resident memory now and at its peak since the last reset, in bytes (Linux /proc). */
function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN };
  }
}

/** Resets a child's peak RSS (VmHWM) to its RSS now; false where the kernel does not allow it. */
function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * The kernel's count of connections its listen queues dropped (TcpExt
 * ListenOverflows, every socket of the machine; Linux only, else NaN): a
 * dropped connect is sent again by the client a second later.
 */
function listenOverflows() {
  try {
    const [names, values] = readFileSync("/proc/net/netstat", "utf8")
      .split("\n")
      .filter((line) => line.startsWith("TcpExt:"))
      .map((line) => line.split(/\s+/));
    return Number(values[names.indexOf("ListenOverflows")]);
  } catch {
    return Number.NaN;
  }
}

/** Round trips of the probe's events sent in [from, to), ms: p50, p99, max and count. */
function window(samples, from, to) {
  const v = Float64Array.from(
    samples.filter(([sent]) => sent >= from && sent < to).map((s) => s[1]),
  );
  v.sort();
  const at = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  return { count: v.length, p50: at(0.5), p99: at(0.99), max: v.at(-1) };
}

async function started(child, what) {
  await child.once("ready", 60_000).catch((err) => {
    throw new Error(`${what} did not start: ${err.message}`);
  });
  return child;
}

/**
 * One storm of `n` clients on `engine` ("floor", "memory", "redis", "postgres") with
 * `side`'s build (`side.checkout`: the root of a built checkout, or
 * undefined for this one's). `cfg`: topics, events, spread, size, connectMs, generators,
 * quietMs, timeoutMs, idleMs, probeMs. Returns every figure of the report.
 */
export async function stormCell(side, engine, n, cfg) {
  const prefix = freshPrefix(engine);
  const perTopic = cfg.events + cfg.spread;
  const args = [engine, prefix, String(perTopic), ...(side.checkout ? [side.checkout] : [])];
  const children = [];
  const spawn = (script, nodeArgs = []) => {
    const child = spawnChild(script, args, { nodeArgs });
    children.push(child);
    return child;
  };
  const out = { side: side.key, engine, n, prefix, loadBefore: os.loadavg()[0] };
  const seed = { topics: cfg.topics, perTopic, size: cfg.size };
  try {
    let ids;
    const local = engine === "memory" || engine === "floor";
    if (!local) {
      // The seeder: a process of its own, gone before the server starts.
      const seeder = await started(spawn(PEER), "the seeder");
      const t = Date.now();
      ({ ids } = await seeder.request("seed", seed, 900_000));
      out.seedMs = Date.now() - t;
      await seeder.stop();
    }
    const profile = process.env.BENCH_PROFILE;
    const profileArgs = profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];
    const server = await started(spawn(SERVER, ["--expose-gc", ...profileArgs]), "the server");
    const gens = [];
    for (let g = 0; g < cfg.generators; g++)
      gens.push(await started(spawn(CLIENTS), "a load generator"));
    const { port, pid, backlog } = await server.request("port");
    out.backlog = backlog;
    if (local) ({ ids } = await server.request("seed", seed, 900_000));
    let probe;
    if (!local) {
      probe = await started(spawn(PEER), "the probe");
      await probe.request("probe-start", { intervalMs: cfg.probeMs });
    }
    await server.request("memory"); // a full GC: idle is the least the server holds
    await sleep(cfg.idleMs);
    out.idleRss = rssOf(pid).rss;
    const peakReset = resetPeak(pid);
    let sampledPeak = out.idleRss;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, rssOf(pid).rss || 0);
    }, 50);
    await server.request("delay-start");
    log(`storm ${side.key} ${engine} N=${n}: connecting (load ${out.loadBefore.toFixed(2)})`);
    // A common start, a little ahead so that every generator has its orders by then.
    const startAt = now() + 300;
    const storm = {
      port,
      ids,
      perTopic,
      n,
      generators: gens.length,
      topics: cfg.topics,
      spread: cfg.spread,
      spreadMs: cfg.connectMs,
      quietMs: cfg.quietMs,
      timeoutMs: cfg.timeoutMs,
      startAt,
      client: cfg.client,
    };
    const overflows0 = listenOverflows();
    let parts;
    try {
      parts = await Promise.all(
        gens.map((gen, g) => gen.request("storm", { ...storm, gen: g }, cfg.timeoutMs + 120_000)),
      );
    } finally {
      clearInterval(sampler);
    }
    const result = tallyStorm(parts, startAt);
    out.listenOverflows = listenOverflows() - overflows0;
    // BENCH_STORM_DUMP: every client's times, ms after the start: [start, TCP connect, head, replay done].
    if (process.env.BENCH_STORM_DUMP) {
      const times = (c) =>
        [c.startAt, c.connectAt, c.headAt, c.doneAt].map((t) => (t > 0 ? t - startAt : null));
      writeFileSync(
        process.env.BENCH_STORM_DUMP,
        JSON.stringify(parts.flatMap((p) => p.clients.map(times))),
      );
    }
    const { peak } = rssOf(pid);
    out.peakRss = peakReset ? Math.max(peak, sampledPeak) : sampledPeak;
    out.clients = result;
    const report = await server.request("report");
    out.loopDelay = report.delay;
    out.serverStats = report.stats;
    if (probe !== undefined) {
      const { samples, published } = await probe.request("probe-stop", {}, 60_000);
      out.probe = {
        idle: window(samples, result.t0 - cfg.idleMs, result.t0),
        during: window(samples, result.t0, Math.max(result.tLast, result.tOpened)),
        lost: published - samples.length,
      };
    }
    out.loadAfter = os.loadavg()[0];
    await Promise.all(gens.map((gen) => gen.request("close").catch(() => {})));
    return out;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await dropPrefix(engine, prefix).catch((err) =>
      log(`storm: dropping ${prefix}: ${err.message}`),
    );
  }
}

/**
 * Every cell: for each engine and each of its client counts, one storm per
 * side (the side that goes first alternating), each with fresh processes
 * and a fresh prefix. A cell that fails is logged and kept as `{ error }`.
 */
export async function runStorm(sides, engines, nsFor, cfg) {
  const cells = [];
  let turn = 0;
  for (const engine of engines)
    for (const n of nsFor(engine)) {
      const order = turn++ % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        try {
          const cell = await stormCell(side, engine, n, cfg);
          const c = cell.clients;
          const sec = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "never");
          log(
            `storm ${side.key} ${engine} N=${n}: headers p99 ${sec(c.headersMs.p99)}, ${c.complete} replays done, the last at ${sec(c.lastDoneAtMs)} (${c.ended}), failed at connect ${c.failedAtConnect}, lost ${c.lost}`,
          );
          cells.push(cell);
        } catch (err) {
          log(`storm ${side.key} ${engine} N=${n}: FAILED ${err.stack ?? err}`);
          cells.push({ side: side.key, engine, n, error: String(err.message ?? err) });
        }
      }
    }
  return cells;
}
