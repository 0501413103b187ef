// Backplane benchmark: publish rate and publish-to-receive latency across two
// processes, PostgreSQL and Redis side by side on this machine. A publisher
// process and a receiver process, each with an EventBroker on the backplane
// under test; the receiver's in-process client records when each event
// arrives (process.hrtime is CLOCK_MONOTONIC: comparable across processes).
//
//   node backplanes.mjs            # both engines, defaults below
//   BENCH_BACKPLANES=postgres node backplanes.mjs
//   BENCH_BACKPLANES=redis,redis-cluster REDIS_CLUSTER_NODES=127.0.0.1:7000 node backplanes.mjs
//
// Then, once per engine, with the backplane's default options (maxPending
// included): BENCH_REQUESTS requests publishing BENCH_PER_REQUEST events each
// (20 x 1,000), each request's publishes synchronous, and how many of them
// reached the other process (and how many overflowed maxPending).
//
// Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), REDIS_URL
// (redis://127.0.0.1:6379), BENCH_BURST (20000 events), BENCH_PACED_RATE
// (1000 events/s), BENCH_PACED_SECONDS (5), BENCH_RUNS (3), BENCH_REQUESTS
// (20), BENCH_PER_REQUEST (1000), BENCH_WARMUP (20000 events published and
// received before the measured burst), BENCH_PROFILE (a directory: each child writes a
// --cpu-prof profile there).
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { backplaneFor, DATABASE_URL } from "./lib/backplane-engines.mjs";

const env = process.env;
const burst = Number(env.BENCH_BURST ?? 20_000);
const pacedRate = Number(env.BENCH_PACED_RATE ?? 1000);
const pacedSeconds = Number(env.BENCH_PACED_SECONDS ?? 5);
const runs = Number(env.BENCH_RUNS ?? 3);
const engines = (env.BENCH_BACKPLANES ?? "postgres,redis").split(",");
const requests = Number(env.BENCH_REQUESTS ?? 20);
const perRequest = Number(env.BENCH_PER_REQUEST ?? 1000);
const warmup = Number(env.BENCH_WARMUP ?? 20_000);

/** A child: an EventBroker on the backplane; commands by IPC. */
async function child(engine, prefix, defaults) {
  const { EventBroker } = await import("@burrow/sse-core");
  const backplane = await backplaneFor(engine, prefix, defaults);
  const broker = new EventBroker({ historySize: 100, bufferSize: 100_000, backplane });
  const client = broker.subscribe("t");
  const arrivals = [];
  (async () => {
    for await (const event of client) arrivals.push([event.data, process.hrtime.bigint()]);
  })();
  const ready = () =>
    broker.stats().backplane.state === "ready" && broker.stats().backplane.topics === 1;
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 10));
  process.on("message", async (message) => {
    if (message.cmd === "reset") {
      arrivals.length = 0;
      process.send({ ok: true });
    } else if (message.cmd === "burst") {
      // As fast as the publisher can: `turn` (100) publishes per event-loop turn.
      const payload = "x".repeat(100);
      const turn = message.turn ?? 100;
      for (let i = 0; i < message.count; i += turn) {
        for (let k = i; k < Math.min(i + turn, message.count); k++) {
          broker.publish("t", { data: `${process.hrtime.bigint()} ${payload}` });
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      process.send({ ok: true });
    } else if (message.cmd === "paced") {
      const every = 1000 / message.rate;
      const start = performance.now();
      for (let i = 0; i < message.count; i++) {
        const due = start + i * every;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        broker.publish("t", { data: `${process.hrtime.bigint()} ${"x".repeat(100)}` });
      }
      process.send({ ok: true });
    } else if (message.cmd === "arrivals") {
      const deadline = Date.now() + 60_000;
      while (arrivals.length < message.count) {
        if (Date.now() > deadline) {
          console.error(
            `receiver: ${arrivals.length} of ${message.count}`,
            JSON.stringify(broker.stats()),
          );
          process.exit(1);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const latencies = arrivals
        .slice(0, message.count)
        .map(([data, at]) => Number(at - BigInt(data.split(" ")[0])) / 1e6);
      const sent = arrivals.slice(0, message.count).map(([data]) => BigInt(data.split(" ")[0]));
      // biome-ignore lint/complexity/useMathMinMax: BigInt values, which Math.min does not take.
      const first = sent.reduce((m, v) => (v < m ? v : m));
      const last = arrivals[message.count - 1][1];
      process.send({ latencies, spanMs: Number(last - first) / 1e6, stats: broker.stats() });
    } else if (message.cmd === "settle") {
      // Until all `count` came, or none came for 3 s: how many reached this process.
      let seen = -1;
      let quietSince = Date.now();
      while (arrivals.length < message.count && Date.now() - quietSince < 3000) {
        if (arrivals.length !== seen) [seen, quietSince] = [arrivals.length, Date.now()];
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      process.send({ arrived: arrivals.length, stats: broker.stats().backplane });
    } else if (message.cmd === "cpu") {
      // CPU time used so far, in microseconds (user and system).
      const { user, system } = process.cpuUsage();
      process.send({ cpu: user + system });
    } else if (message.cmd === "stats") {
      process.send(broker.stats());
    } else if (message.cmd === "exit") {
      broker.close();
      await backplane.close();
      process.exit(0);
    }
  });
  process.send({ ready: true });
}

function ask(proc, message) {
  const answer = once(proc, "message").then(([reply]) => reply);
  proc.send(message);
  return answer;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function dropPostgres(prefix) {
  const pg = (await import("pg")).default;
  const client = new pg.Client(DATABASE_URL);
  await client.connect();
  for (const table of ["meta", "events", "topics"])
    await client.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
  await client.query(
    `DROP FUNCTION IF EXISTS ${prefix}publish_v1(text[], text[], integer[], text[], text[], integer, boolean)`,
  );
  await client.query(
    `DROP FUNCTION IF EXISTS ${prefix}publish_v2(text[], text[], integer[], text[], text[], integer, boolean)`,
  );
  await client.end();
}

/** Two children on `engine` (a fresh prefix), `defaults`: the backplane's default options. */
async function pair(engine, defaults) {
  const prefix =
    engine === "postgres"
      ? `bench_${randomBytes(4).toString("hex")}_`
      : `bench:${randomBytes(4).toString("hex")}:`;
  const self = fileURLToPath(import.meta.url);
  const args = ["child", engine, prefix, defaults ? "defaults" : ""];
  const [publisher, receiver] = [0, 1].map(() =>
    fork(
      self,
      args,
      env.BENCH_PROFILE ? { execArgv: ["--cpu-prof", `--cpu-prof-dir=${env.BENCH_PROFILE}`] } : {},
    ),
  );
  await Promise.all([publisher, receiver].map((p) => once(p, "message")));
  const close = async () => {
    for (const proc of [publisher, receiver]) proc.send({ cmd: "exit" });
    await Promise.all([publisher, receiver].map((proc) => once(proc, "exit")));
    if (engine === "postgres") await dropPostgres(prefix);
  };
  return { publisher, receiver, close };
}

/** `requests` x `perRequest` at the default maxPending: what reached the other process. */
async function requestBurst(engine) {
  const { publisher, receiver, close } = await pair(engine, true);
  const count = requests * perRequest;
  const before = await ask(publisher, { cmd: "cpu" });
  await ask(publisher, { cmd: "burst", count, turn: perRequest });
  const { arrived } = await ask(receiver, { cmd: "settle", count });
  const after = await ask(publisher, { cmd: "cpu" });
  const sent = (await ask(publisher, { cmd: "stats" })).backplane;
  await close();
  const pubUs = (after.cpu - before.cpu) / count;
  const row = { engine, count, arrived, overflow: sent.overflow, pubUs };
  process.stderr.write(`${engine} ${requests} x ${perRequest}: ${JSON.stringify(row)}\n`);
  return row;
}

async function main() {
  const rows = [];
  const bursts = [];
  for (const engine of engines) {
    const results = [];
    for (let run = 0; run < runs; run++) {
      const { publisher, receiver, close } = await pair(engine, false);
      // Warm-up: a burst as large as the measured one, so that the code measured is
      // optimized (V8 compiles a hot function after thousands of calls): a server's
      // throughput once it has been running, not its first seconds.
      await ask(publisher, { cmd: "burst", count: warmup });
      await ask(receiver, { cmd: "arrivals", count: warmup });
      await Promise.all([ask(receiver, { cmd: "reset" }), ask(publisher, { cmd: "reset" })]);
      const cpuBefore = await Promise.all([publisher, receiver].map((p) => ask(p, { cmd: "cpu" })));
      await ask(publisher, { cmd: "burst", count: burst });
      const b = await ask(receiver, { cmd: "arrivals", count: burst });
      // The publisher's own echoes too: its client has all of them once the receiver's has.
      const cpuAfter = await Promise.all([publisher, receiver].map((p) => ask(p, { cmd: "cpu" })));
      const [pubUs, recUs] = [0, 1].map((i) => (cpuAfter[i].cpu - cpuBefore[i].cpu) / burst);
      await Promise.all([ask(receiver, { cmd: "reset" }), ask(publisher, { cmd: "reset" })]);
      const count = pacedRate * pacedSeconds;
      await ask(publisher, { cmd: "paced", rate: pacedRate, count });
      const p = await ask(receiver, { cmd: "arrivals", count });
      const sent = (await ask(publisher, { cmd: "stats" })).backplane;
      const sorted = [...p.latencies].sort((x, y) => x - y);
      results.push({
        rate: burst / (b.spanMs / 1000),
        pubUs,
        recUs,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1),
        dropped: b.stats.dropped + p.stats.dropped,
        localOnly: (sent.localOnly ?? 0) + (sent.overflow ?? 0),
      });
      await close();
      process.stderr.write(`${engine} run ${run + 1}: ${JSON.stringify(results.at(-1))}\n`);
    }
    rows.push({
      engine,
      rate: median(results.map((r) => r.rate)),
      pubUs: median(results.map((r) => r.pubUs)),
      recUs: median(results.map((r) => r.recUs)),
      p50: median(results.map((r) => r.p50)),
      p99: median(results.map((r) => r.p99)),
      max: median(results.map((r) => r.max)),
      lost: results.reduce((sum, r) => sum + r.dropped + r.localOnly, 0),
    });
    bursts.push(await requestBurst(engine));
  }
  console.log(
    `| backplane | burst of ${burst}: events/s end to end | CPU µs per event, burst: publisher / receiver | paced ${pacedRate}/s: p50 latency | p99 | max | events lost or local-only |`,
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.engine} | ${Math.round(r.rate).toLocaleString("en")} | ${r.pubUs.toFixed(1)} / ${r.recUs.toFixed(1)} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.max.toFixed(1)} ms | ${r.lost} |`,
    );
  }
  console.log(
    `\n| backplane | ${requests} requests x ${perRequest} at the default maxPending: arrived on the other process | overflowed maxPending | publisher CPU µs per event |`,
  );
  console.log("| --- | --- | --- | --- |");
  for (const b of bursts) {
    console.log(
      `| ${b.engine} | ${b.arrived.toLocaleString("en")} of ${b.count.toLocaleString("en")} | ${b.overflow} | ${b.pubUs.toFixed(1)} |`,
    );
  }
}

if (process.argv[2] === "child") await child(process.argv[3], process.argv[4], !!process.argv[5]);
else await main();
