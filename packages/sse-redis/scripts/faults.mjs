#!/usr/bin/env node
// Measures two Redis faults against the built package (dist), on a private
// redis-server it starts on a free port of 127.0.0.1. Not part of `pnpm test`.
//
//   node scripts/faults.mjs hang     # SIGSTOP Redis while this process publishes
//                                    # 1 KB events at about 5000/s, then SIGCONT
//   node scripts/faults.mjs resume   # 50 clients resume from the start of 8 topics'
//                                    # history in a loop, while another process
//                                    # measures its publish latency
//
// Options: --seconds (length of each phase, default 10), --attackers (50),
// --read (resume: attackers read their whole replay instead of leaving at once).
// Figures are printed as JSON lines. Needs `redis-server` on PATH; run `hang`
// with `node --expose-gc` for heap figures after GC.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, createServer as createNetServer } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { redisBackplane } from "@burrow/sse-redis";
import { Redis } from "ioredis";

const SCRIPT = fileURLToPath(import.meta.url);
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "10" },
    attackers: { type: "string", default: "50" },
    read: { type: "boolean", default: false },
    url: { type: "string" },
    prefix: { type: "string" },
    port: { type: "string" },
    cursor: { type: "string" },
  },
});
const seconds = Number(args.seconds);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const print = (figures) => console.log(JSON.stringify(figures));
const TOPICS = Array.from({ length: 8 }, (_, i) => `t${i}`);

async function until(predicate, what, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function privateRedis() {
  const probe = createNetServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { lazyConnect: true, retryStrategy: () => 50 });
  admin.on("error", () => {});
  await until(async () => (await admin.ping().catch(() => "")) === "PONG", "redis-server");
  return { child, url, admin };
}

function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (ms) => Math.round(ms * 100) / 100;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(at(1)) };
}

/** Redis's CPU time (user + sys, seconds) and the evalsha time (µs) so far. */
async function redisTime(admin) {
  const cpu = await admin.info("cpu");
  const used = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  const stats = await admin.info("commandstats");
  const evalsha = Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(stats)?.[1] ?? 0);
  return { cpu: used("used_cpu_user") + used("used_cpu_sys"), evalshaUs: evalsha };
}

async function hang() {
  const redis = await privateRedis();
  const logger = { error: (m) => console.error(m), info: (m) => console.error(m) };
  const backplane = redisBackplane({ url: redis.url, prefix: "hang:", logger });
  const broker = new EventBroker({ historySize: 100, bufferSize: 1000, backplane });
  const client = broker.subscribe("x");
  let received = 0;
  (async () => {
    for await (const _ of client) received++;
  })();
  await until(() => backplane.stats().state === "ready" && backplane.stats().topics === 1, "ready");
  const payload = "x".repeat(1000);
  let published = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 50; i++) broker.publish("x", { data: `${published++} ${payload}` });
  }, 10);
  await sleep(2000);
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  let mostPending = 0;
  // The heap after a GC (what is retained), and what waits for Redis, sampled.
  const sampler = setInterval(() => {
    globalThis.gc?.();
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    mostPending = Math.max(mostPending, backplane.stats().pending ?? Number.NaN);
  }, 250);
  const stoppedAt = performance.now();
  redis.child.kill("SIGSTOP");
  const publishedAtStop = published;
  const receivedAtStop = received;
  let downAfterMs = null;
  while (performance.now() - stoppedAt < seconds * 1000) {
    if (downAfterMs === null && backplane.stats().state === "down") {
      downAfterMs = Math.round(performance.now() - stoppedAt);
    }
    await sleep(5);
  }
  const duringHang = {
    published: published - publishedAtStop,
    received: received - receivedAtStop,
    droppedByTheClientBuffer: client.dropped,
  };
  clearInterval(sampler);
  globalThis.gc?.();
  const heapAtEnd = process.memoryUsage().heapUsed;
  const continuedAt = performance.now();
  redis.child.kill("SIGCONT");
  await until(
    () => backplane.stats().state === "ready" && backplane.stats().errors > 0,
    "ready again",
  ).catch(() => {});
  const readyAfterMs = performance.now() - continuedAt;
  clearInterval(timer);
  const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
  print({
    scenario: "hang",
    hangSeconds: seconds,
    downAfterMs,
    readyAfterSigcontMs: Math.round(readyAfterMs),
    duringHang,
    heapAfterGcMB: { before: mb(heapBefore), peak: mb(heapPeak), endOfHang: mb(heapAtEnd) },
    mostPending,
    backplane: backplane.stats(),
  });
  broker.close();
  await backplane.close();
  redis.admin.disconnect();
  redis.child.kill("SIGKILL");
}

/** A child: a broker on its own process that publishes every 10 ms and times its own deliveries. */
async function victim() {
  const backplane = redisBackplane({ url: args.url, prefix: args.prefix, logger: false });
  const broker = new EventBroker({ historySize: 200, bufferSize: 1000, backplane });
  const client = broker.subscribe("victim");
  await until(() => backplane.stats().state === "ready" && backplane.stats().topics === 1, "ready");
  const latencies = [];
  (async () => {
    for await (const event of client) latencies.push(performance.now() - Number(event.data));
  })();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    broker.publish("victim", { data: String(performance.now()) });
    await sleep(10);
  }
  await sleep(500);
  print(percentiles(latencies));
  broker.close();
  await backplane.close();
}

/** A child: attackers that resume from `cursor` on all 8 topics, in a loop. */
async function attack() {
  const path = `/events?topics=${TOPICS.join(",")}`;
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ${args.cursor}\r\n\r\n`;
  const end = performance.now() + seconds * 1000;
  let resumes = 0;
  const one = () =>
    new Promise((resolve) => {
      const socket = connect(Number(args.port), "127.0.0.1");
      let seen = 0;
      const done = () => {
        socket.destroy();
        resolve();
      };
      socket.setTimeout(2000, done);
      socket.on("error", done);
      socket.on("close", done);
      socket.on("data", (chunk) => {
        if (!args.read) return done();
        for (let i = chunk.indexOf("\ndata:"); i !== -1; i = chunk.indexOf("\ndata:", i + 1))
          seen++;
        // The whole replay (200 events on each topic), or a resync: done.
        if (seen >= 1600 || chunk.includes("resync")) done();
      });
      socket.write(request);
    });
  await Promise.all(
    Array.from({ length: Number(args.attackers) }, async () => {
      while (performance.now() < end) {
        await one();
        resumes++;
      }
    }),
  );
  print({ resumes });
}

function child(role, extra) {
  const proc = spawn(process.execPath, [SCRIPT, role, ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  proc.stdout.on("data", (chunk) => {
    out += chunk;
  });
  return once(proc, "exit").then(() => JSON.parse(out.trim().split("\n").at(-1)));
}

async function resume() {
  const redis = await privateRedis();
  const prefix = "resume:";
  const backplane = redisBackplane({ url: redis.url, prefix, logger: false });
  const broker = new EventBroker({
    historySize: 200,
    bufferSize: 2000,
    resumeMissEvent: "resync",
    backplane,
  });
  const events = handlerFunc(
    broker,
    (req) => new URL(req.url, "http://x").searchParams.get("topics").split(","),
    {
      keepaliveMs: 0,
      reconnectWindowMs: 0,
      maxClientsPerAddress: Number.POSITIVE_INFINITY,
    },
  );
  const server = createServer(events).listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = server.address().port;
  const watcher = broker.subscribe(TOPICS);
  await until(() => backplane.stats().state === "ready" && backplane.stats().topics === 8, "ready");
  const payload = "x".repeat(1000);
  for (let i = 0; i < 1600; i++) broker.publish(TOPICS[i % 8], { data: payload });
  let filled = 0;
  let epoch = "";
  for await (const event of watcher) {
    epoch ||= event.id.split("-")[0];
    if (++filled === 1600) break;
  }
  const common = ["--seconds", String(seconds), "--url", redis.url, "--prefix", prefix];
  const quiet = await child("victim", common);
  const before = await redisTime(redis.admin);
  const [attacked, attackers] = await Promise.all([
    child("victim", common),
    child("attack", [
      ...common,
      "--port",
      String(port),
      "--cursor",
      `${epoch}-0`,
      "--attackers",
      args.attackers,
      ...(args.read ? ["--read"] : []),
    ]),
  ]);
  const after = await redisTime(redis.admin);
  print({
    scenario: args.read ? "resume, attackers read their replay" : "resume, attackers leave at once",
    seconds,
    attackers: Number(args.attackers),
    resumesPerSecond: Math.round(attackers.resumes / seconds),
    redisCpuShare: +((after.cpu - before.cpu) / seconds).toFixed(2),
    redisScriptMsPerSecond: Math.round((after.evalshaUs - before.evalshaUs) / 1000 / seconds),
    victimLatencyMsQuiet: quiet,
    victimLatencyMsUnderAttack: attacked,
    server: broker.stats(),
  });
  server.close();
  broker.close();
  await backplane.close();
  redis.admin.disconnect();
  redis.child.kill("SIGKILL");
}

const [role] = positionals;
const roles = { hang, resume, victim, attack };
if (!(role in roles)) {
  console.error(
    "usage: node scripts/faults.mjs hang|resume [--seconds 10] [--attackers 50] [--read]",
  );
  process.exit(2);
}
await roles[role]();
process.exit(0);
