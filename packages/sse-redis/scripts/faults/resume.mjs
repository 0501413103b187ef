// The resume fault: attackers resume from the start of 8 topics' history in a
// loop (leaving at once, or with `read` reading their whole replay), while a
// victim, a broker in a process of its own on the same Redis, measures its
// publish latency. The victim and the attackers are children: faults.mjs
// started again with the role `victim` or `attack`.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { redisBackplane } from "@burrow/sse-redis";
import { percentiles, print } from "./figures.mjs";
import { privateRedis, redisTime } from "./private-redis.mjs";
import { sleep, until } from "./wait.mjs";

/** The entry script, started again for each child. */
const SCRIPT = fileURLToPath(new URL("../faults.mjs", import.meta.url));
const TOPICS = Array.from({ length: 8 }, (_, i) => `t${i}`);

/**
 * A child: a broker on its own process that publishes every 10 ms and times its own deliveries;
 * prints their latency percentiles.
 */
export async function victim(args) {
  const { seconds } = args;
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
export async function attack(args) {
  const { seconds } = args;
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

/** Starts the entry script as `role` with `extra` arguments; resolves to the last JSON line it printed. */
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

/**
 * Fills 8 topics with 200 events of 1 KB each, measures the victim's publish
 * latency alone, then again while `attackers` resume from the start of every
 * topic for `seconds`; prints both, the resumes per second, Redis's CPU share
 * and script time, and the server's stats.
 */
export async function resume(args) {
  const { seconds } = args;
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
