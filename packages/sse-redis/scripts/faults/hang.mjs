// The hang fault: Redis stopped (SIGSTOP: its sockets stay open, nothing
// answers) while this process publishes 1 KB events at about 5000/s, then
// continued (SIGCONT). Run with `node --expose-gc` for heap figures after GC.

import { EventBroker } from "@burrow/sse-core";
import { redisBackplane } from "@burrow/sse-redis";
import { print } from "./figures.mjs";
import { privateRedis } from "./private-redis.mjs";
import { sleep, until } from "./wait.mjs";

/**
 * Publishes for 2 s, stops Redis for `seconds`, continues it, and prints when
 * the backplane saw it down and ready again, what the client got meanwhile,
 * the heap after GC, the most events waiting for Redis, and its stats.
 */
export async function hang({ seconds }) {
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
