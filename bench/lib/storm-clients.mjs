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
import { closeNative, nativeStorm } from "./storm-native.mjs";
import { parseEventData, topicName } from "./storm-seed.mjs";

const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
const sockets = [];

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
  socket.once("connect", () => {
    c.connectAt = now();
    socket.write(resumeRequest(port, `/events?topic=${topic}`, topicIds[c.k]));
  });
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
 * This generator's part of the storm: of `n` clients, those whose index i
 * is `gen` modulo `generators`; client i is on topic i mod `topics`,
 * resumes from event floor(i / topics) mod `spread`, and connects at
 * `startAt` + i / n of `spreadMs` (the monotonic clock is the same in every
 * process). Ends when each of its clients has its replay or failed, when
 * nothing arrived for `quietMs`, or `timeoutMs` after `startAt`. Returns
 * each client's record (absolute times) for lib/storm-tally.mjs.
 */
async function storm(opts) {
  const { n, gen, generators, topics, spread, spreadMs, quietMs, timeoutMs, startAt } = opts;
  const clients = [];
  for (let i = gen; i < n; i += generators)
    clients.push({
      i,
      t: i % topics,
      k: Math.floor(i / topics) % spread,
      startAt: 0,
      connectAt: 0,
      headAt: 0,
      doneAt: 0,
      status: 0,
      expected: 0,
      got: 0,
      maxSeq: -1,
      duplicated: 0,
      reordered: 0,
      wrongId: 0,
      foreign: 0,
      ended: false,
      failure: undefined,
    });
  const progress = { at: now(), settled: 0 };
  while (now() < startAt) await new Promise((resolve) => setTimeout(resolve, 1));
  const cpu0 = process.cpuUsage();
  // Its own event loop's delay: a late reading of a socket would look like a late server.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let opened = 0;
  while (opened < clients.length) {
    const due = now() - startAt;
    // Every client that is due, at once: the schedule comes first (yielding
    // between smaller groups spread 5,000 connects over 9 s on a loaded
    // machine); the event-loop delay shows what this costs the timing of
    // the heads already arriving.
    while (opened < clients.length && (clients[opened].i / n) * spreadMs <= due)
      openClient(clients[opened++], opts, progress);
    // A timer, not setImmediate: waiting for the next connect must not spin the CPU.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const tOpened = now();
  let ended = "every client has its replay or failed";
  for (;;) {
    if (progress.settled >= clients.length) break;
    if (now() - progress.at > quietMs) {
      ended = `nothing arrived for ${quietMs / 1000} s`;
      break;
    }
    if (now() - startAt > timeoutMs) {
      ended = `timeout (${timeoutMs / 1000} s)`;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const tEnd = now();
  const cpu = process.cpuUsage(cpu0);
  delay.disable();
  return {
    tOpened,
    tEnd,
    tLast: progress.at,
    ended,
    loopDelayMs: { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    cpuMs: (cpu.user + cpu.system) / 1000,
    clients: clients.map((c) => ({
      startAt: c.startAt,
      connectAt: c.connectAt,
      headAt: c.headAt,
      doneAt: c.doneAt,
      status: c.status,
      failure: c.failure,
      expected: c.expected,
      got: c.got,
      duplicated: c.duplicated,
      reordered: c.reordered,
      wrongId: c.wrongId,
      foreign: c.foreign,
    })),
  };
}

serveParent(
  {
    // BENCH_STORM_CLIENT=native: the same clients, read by lib/storm-gen.c.
    storm: (opts) => (opts.client === "native" ? nativeStorm(opts) : storm(opts)),
    close: () => {
      closeNative();
      for (const s of sockets) s.destroy();
      sockets.length = 0;
      return {};
    },
  },
  LIFETIME_MS,
);
