// The storm's load generator, in its own process: N clients that reconnect
// within a second, each with the Last-Event-ID of an event the server's
// backplane holds, over raw sockets (net.connect, a hand-written request,
// lib/raw-sse.mjs to read the answer), so that reading is cheap. It records
// when each client's headers came and when its replay was complete, and
// checks every event it receives against what the topic holds.
//
// Usage (by storm.mjs only): node lib/storm-clients.mjs

import net from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { now, serveParent } from "./proc.mjs";
import { RawSseResponse, resumeRequest } from "./raw-sse.mjs";
import { parseEventData, topicName } from "./storm-seed.mjs";

const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
const sockets = [];

/** Percentiles of `values` (Infinity for a client that never got there). */
function summary(values) {
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) };
}

/**
 * One client: its topic `t`, the index `k` of the event it last saw (its
 * Last-Event-ID), so it expects events k+1 .. perTopic-1 of its topic, in
 * order, each once, with the id the topic gave it.
 */
function openClient(c, { port, ids, perTopic }, progress) {
  const topic = topicName(c.t);
  const topicIds = ids[c.t];
  const seen = new Uint8Array(perTopic);
  const expected = perTopic - 1 - c.k;
  c.startAt = now();
  const response = new RawSseResponse({
    onHead: (status) => {
      c.status = status;
      c.headAt = now();
      progress.at = c.headAt;
    },
    onEvent: ({ id, data }) => {
      progress.at = now();
      const e = parseEventData(data);
      if (e === undefined || e.topic !== topic) {
        c.foreign++;
        return;
      }
      if (e.seq <= c.k || seen[e.seq] === 1) {
        c.duplicated++;
        return;
      }
      if (e.seq < c.maxSeq) c.reordered++;
      c.maxSeq = Math.max(c.maxSeq, e.seq);
      seen[e.seq] = 1;
      if (id !== topicIds[e.seq]) c.wrongId++;
      if (++c.got === expected) {
        c.doneAt = progress.at;
        progress.settled++;
      }
    },
  });
  const socket = net.connect({ host: "127.0.0.1", port });
  sockets.push(socket);
  socket.setNoDelay(true);
  socket.once("connect", () =>
    socket.write(resumeRequest(port, `/events?topic=${topic}`, topicIds[c.k])),
  );
  socket.on("data", (chunk) => response.push(chunk));
  const end = (code) => {
    if (c.ended) return;
    c.ended = true;
    if (c.headAt === 0) c.failure = code;
    else if (c.doneAt === 0) c.failure = "closed before its replay was complete";
    if (c.doneAt === 0) progress.settled++;
  };
  socket.on("error", (err) => end(err.code ?? err.message));
  socket.on("close", () => end("closed before the headers"));
  c.expected = expected;
  c.response = response;
}

/**
 * The storm: `n` clients, client i on topic i mod `topics` resuming from
 * event floor(i / topics) mod `spread`, connecting evenly over `spreadMs`;
 * ends when every client has its replay or failed, when nothing arrived for
 * `quietMs`, or after `timeoutMs`.
 */
async function storm(opts) {
  const { n, topics, spread, spreadMs, quietMs, timeoutMs } = opts;
  const clients = Array.from({ length: n }, (_, i) => ({
    t: i % topics,
    k: Math.floor(i / topics) % spread,
    startAt: 0,
    headAt: 0,
    doneAt: 0,
    status: 0,
    got: 0,
    maxSeq: -1,
    duplicated: 0,
    reordered: 0,
    wrongId: 0,
    foreign: 0,
    ended: false,
    failure: undefined,
  }));
  const progress = { at: now(), settled: 0 };
  const cpu0 = process.cpuUsage();
  // Its own event loop's delay: a late reading of a socket would look like a late server.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const t0 = now();
  let opened = 0;
  while (opened < n) {
    const due = Math.min(n, Math.floor(((now() - t0) / spreadMs) * n) + 1);
    // Every client that is due, at once: the schedule comes first (yielding
    // between smaller groups spread 5,000 connects over 9 s on a loaded
    // machine); the generator's event-loop delay shows what this costs the
    // timing of the heads already arriving.
    while (opened < due) openClient(clients[opened++], opts, progress);
    // A timer, not setImmediate: waiting for the next connect must not spin the CPU.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const tOpened = now();
  let ended = "every client has its replay or failed";
  for (;;) {
    if (progress.settled >= n) break;
    if (now() - progress.at > quietMs) {
      ended = `nothing arrived for ${quietMs / 1000} s`;
      break;
    }
    if (now() - t0 > timeoutMs) {
      ended = `timeout (${timeoutMs / 1000} s)`;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const tEnd = now();
  const cpu = process.cpuUsage(cpu0);
  delay.disable();
  const tLast = progress.at;
  return {
    t0,
    tOpened,
    tEnd,
    tLast,
    ended,
    loopDelayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    cpuShare: (cpu.user + cpu.system) / 1000 / (tEnd - t0),
    ...tally(clients, t0),
  };
}

/** What the clients saw: timings (percentiles over every client), failures and correctness. */
function tally(clients, t0) {
  const failures = {};
  const headers = [];
  const replays = [];
  const doneAt = [];
  const totals = { lost: 0, duplicated: 0, reordered: 0, wrongId: 0, foreign: 0, expected: 0 };
  let complete = 0;
  let incomplete = 0;
  for (const c of clients) {
    headers.push(c.headAt > 0 ? c.headAt - c.startAt : Number.POSITIVE_INFINITY);
    replays.push(c.doneAt > 0 ? c.doneAt - c.startAt : Number.POSITIVE_INFINITY);
    if (c.doneAt > 0) {
      doneAt.push(c.doneAt - t0);
      complete++;
    } else if (c.failure === undefined) incomplete++;
    if (c.failure !== undefined) failures[c.failure] = (failures[c.failure] ?? 0) + 1;
    else if (c.headAt > 0 && c.status !== 200) {
      const key = `status ${c.status}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
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
  return {
    n: clients.length,
    complete,
    incomplete,
    failedAtConnect: clients.filter((c) => c.headAt === 0 && c.failure !== undefined).length,
    failures,
    headersMs: summary(headers),
    replayMs: summary(replays),
    lastDoneAtMs: complete > 0 ? Math.max(...doneAt) : Number.POSITIVE_INFINITY,
    allDoneAtMs: complete === clients.length ? Math.max(...doneAt) : Number.POSITIVE_INFINITY,
    doneBy: { 1: byTime(1), 5: byTime(5), 10: byTime(10), 20: byTime(20), 60: byTime(60) },
    ...totals,
  };
}

serveParent(
  {
    storm: async (opts) => ({ result: await storm(opts) }),
    close: () => {
      for (const s of sockets) s.destroy();
      sockets.length = 0;
      return {};
    },
  },
  LIFETIME_MS,
);
