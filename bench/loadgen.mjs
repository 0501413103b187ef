// The load generator, in its own process: N plain TCP connections to
// 127.0.0.1 that send an SSE GET and count events cheaply (occurrences of
// "data:" found with Buffer#indexOf, no SSE parser). Optionally reads the
// publish timestamp out of a sample of connections for latency. Driven by
// run.mjs over IPC; reports its own CPU time so a reader can tell it is not
// the bottleneck.

import net from "node:net";
import { notifyParent, now, serveParent } from "./lib/proc.mjs";
import { SseTally } from "./lib/sse-tally.mjs";

const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
/** What is counted as one event: "data:" unless `connect` is given another mark. */
let markText = "data:";
let MARK = Buffer.from(markText);
let MARK_LEN = MARK.length;
const LATENCY_SAMPLE = 1000;

let sockets = [];
let counts = new Float64Array(0);
let targets = new Float64Array(0);
let tails = [];
let normal = 0;
let armed = false;
let pending = 0;
let latencyStride = 0;
let latencies = [];
let cpuAtArm = process.cpuUsage();

/** Occurrences of the mark in `chunk`, including one split across the previous chunk. */
function countMarks(i, chunk) {
  let n = 0;
  const tail = tails[i];
  if (tail !== "") {
    const joint = tail + chunk.toString("latin1", 0, Math.min(MARK_LEN - 1, chunk.length));
    const at = joint.indexOf(markText);
    if (at !== -1 && at < tail.length) n++;
  }
  let at = chunk.indexOf(MARK);
  while (at !== -1) {
    n++;
    at = chunk.indexOf(MARK, at + MARK_LEN);
  }
  const keep = Math.min(MARK_LEN - 1, chunk.length);
  tails[i] = chunk.toString("latin1", chunk.length - keep);
  return n;
}

/** Publish-to-receive latency of every event in `chunk` ("t=<ms>" in its data). */
function recordLatency(chunk) {
  const received = now();
  const text = chunk.toString("latin1");
  let at = text.indexOf(" t=");
  while (at !== -1) {
    const end = text.indexOf(" ", at + 3);
    const sent = Number.parseFloat(text.slice(at + 3, end === -1 ? undefined : end));
    if (Number.isFinite(sent)) latencies.push(received - sent);
    at = text.indexOf(" t=", at + 3);
  }
}

function onData(i, chunk) {
  const c = countMarks(i, chunk);
  if (c === 0) return;
  counts[i] += c;
  if (!armed) return;
  if (latencyStride > 0 && i % latencyStride === 0) recordLatency(chunk);
  if (counts[i] >= targets[i] && targets[i] > 0) {
    targets[i] = 0;
    if (--pending === 0) {
      armed = false;
      notifyParent("done", { t: now(), cpu: process.cpuUsage(cpuAtArm) });
    }
  }
}

const REQUEST = (port, path = "/events") =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`;

/**
 * Opens one connection; resolves when the response head arrived (or at once
 * for a stuck one, which asks for `stuckPath` when given).
 */
function open(i, port, stuck, stuckPath) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    sockets[i] = socket;
    socket.setNoDelay(true);
    socket.on("error", () => resolve(false));
    socket.on("close", () => resolve(false));
    if (stuck) {
      // Never reads: the kernel receive buffer fills, then the server's send buffer.
      socket.pause();
      socket.once("connect", () => {
        socket.write(REQUEST(port, stuckPath));
        resolve(true);
      });
      return;
    }
    socket.once("connect", () => socket.write(REQUEST(port)));
    let first = true;
    socket.on("data", (chunk) => {
      if (first) {
        first = false;
        resolve(true);
      }
      onData(i, chunk);
    });
  });
}

serveParent(
  {
    /**
     * Opens `n` reading connections plus `stuck` ones that never read (the
     * j-th asks for `/events?stuck=<j>` when `stuckQuery`); `mark`: what
     * counts as one event (default "data:"). `ports`, instead of `port`:
     * the reading connections are spread over several servers in equal
     * blocks (the cluster scenario; blocks, so that latency's sample of every
     * k-th connection covers every server).
     */
    connect: async ({
      port,
      ports = [port],
      n,
      stuck = 0,
      concurrency = 250,
      mark,
      stuckQuery = false,
    }) => {
      if (mark !== undefined) {
        markText = mark;
        MARK = Buffer.from(mark, "latin1");
        MARK_LEN = MARK.length;
      }
      const total = n + stuck;
      sockets = new Array(total);
      counts = new Float64Array(total);
      targets = new Float64Array(total);
      tails = new Array(total).fill("");
      normal = n;
      let ok = 0;
      for (let start = 0; start < n; start += concurrency) {
        const wave = [];
        for (let i = start; i < Math.min(n, start + concurrency); i++)
          wave.push(open(i, ports[Math.floor((i * ports.length) / n)], false));
        for (const r of await Promise.all(wave)) if (r) ok++;
      }
      for (let i = n; i < total; i++)
        await open(i, port, true, stuckQuery ? `/events?stuck=${i - n}` : undefined);
      return { connected: ok };
    },
    /** Expects `expect` more events on every reading connection; "done" is sent when all have them. */
    arm: ({ expect, latency = false }) => {
      latencies = [];
      latencyStride = latency ? Math.max(1, Math.floor(normal / LATENCY_SAMPLE)) : 0;
      pending = 0;
      for (let i = 0; i < normal; i++) {
        targets[i] = counts[i] + expect;
        pending++;
      }
      cpuAtArm = process.cpuUsage();
      armed = pending > 0;
      return {};
    },
    /** Events received so far: total and the least any reading connection has. */
    counts: () => {
      let total = 0;
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < normal; i++) {
        total += counts[i];
        if (counts[i] < min) min = counts[i];
      }
      return { total, min, pending, cpu: process.cpuUsage(cpuAtArm) };
    },
    /** Percentiles of the sampled latencies; with `raw`, the samples too (to merge several generators'). */
    latency: ({ raw = false }) => {
      const sorted = Float64Array.from(latencies).sort();
      const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      const out = { samples: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
      return raw ? { ...out, raw: Array.from(sorted) } : out;
    },
    /**
     * The stuck connections read again: what each receives is tallied by
     * kind (SseTally) until none has received anything for `quietMs` (at
     * most `maxMs`); `lastOf`: the topic whose last sequence number to keep.
     */
    release: async ({ lastOf, quietMs = 1500, maxMs = 120_000 }) => {
      const tallies = [];
      let lastData = now();
      for (let i = normal; i < sockets.length; i++) {
        const tally = new SseTally(lastOf);
        tallies.push(tally);
        sockets[i].on("data", (chunk) => {
          lastData = now();
          tally.add(chunk);
        });
        sockets[i].resume();
      }
      const started = now();
      while (now() - lastData < quietMs && now() - started < maxMs)
        await new Promise((resolve) => setTimeout(resolve, 100));
      return { clients: tallies.map((t) => t.summary()), quiet: now() - lastData >= quietMs };
    },
    close: () => {
      for (const s of sockets) s?.destroy();
      sockets = [];
      return {};
    },
  },
  LIFETIME_MS,
);
