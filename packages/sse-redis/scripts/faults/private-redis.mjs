// A private redis-server for the fault scripts, on a free port of 127.0.0.1,
// with no persistence, and the figures read from its INFO.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as createNetServer } from "node:net";
import { Redis } from "ioredis";
import { until } from "./wait.mjs";

/**
 * Starts `redis-server` on a free port and waits until it answers a PING.
 * Returns its process (`child`, for SIGSTOP, SIGCONT and SIGKILL), its `url`
 * and an `admin` connection.
 */
export async function privateRedis() {
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

/** Redis's CPU time (user + sys, seconds) and the evalsha time (µs) so far. */
export async function redisTime(admin) {
  const cpu = await admin.info("cpu");
  const used = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  const stats = await admin.info("commandstats");
  const evalsha = Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(stats)?.[1] ?? 0);
  return { cpu: used("used_cpu_user") + used("used_cpu_sys"), evalshaUs: evalsha };
}
