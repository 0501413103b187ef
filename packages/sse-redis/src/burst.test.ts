// Bursts on the real Redis at REDIS_URL (test-utils' burst suite): a burst
// past the default maxPending reaches another process in full, and an
// overflow while a private redis-server is stopped (SIGSTOP) is signalled to
// the other process once it answers.
import { EventBroker } from "@burrow/sse-core";
import { take, waitFor } from "@burrow/test-utils";
import { type BurstBroker, describeBursts } from "@burrow/test-utils/backplane-burst-suite";
import { afterAll, expect, it } from "vitest";
import {
  deleteKeys,
  describeRedis,
  freePort,
  hasRedisServer,
  privateRedis,
  REDIS_URL,
  uniquePrefix,
} from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const opened: { broker: EventBroker; prefix: string; url: string }[] = [];
const topics = { feed: { snapshot: () => "<p>feed as now</p>", target: "#feed" } };
// The server the overflow case stops: started when that case opens a broker on it.
const held = hasRedisServer() ? privateRedis(await freePort()) : undefined;
let heldStarted: Promise<void> | undefined;
afterAll(() => held?.kill());

describeBursts({
  name: "sse-redis",
  describe: describeRedis,
  uniquePrefix,
  open(prefix, { holdable = false, ...options } = {}) {
    if (holdable) heldStarted ??= held!.start();
    const url = holdable ? held!.url : REDIS_URL;
    // Connects once the private server is up (the backplane retries until then).
    const backplane = redisBackplane({ url, prefix, logger: silent, ...options });
    const broker = new EventBroker({ historySize: 100, bufferSize: 20_000, backplane, topics });
    opened.push({ broker, prefix, url });
    return broker as BurstBroker;
  },
  hold:
    held &&
    (async () => {
      await heldStarted;
      await held.pause();
      return () => held.resume();
    }),
  async cleanUp() {
    const done = opened.splice(0);
    for (const { broker } of done) broker.close();
    for (const { prefix, url } of done) await deleteKeys(prefix, url);
  },
});

describeRedis("sse-redis: publishes sent at the end of their tick", () => {
  it("latest() and replay() called in the tick of a publish are sent after it: the cursor is past it, and a replay from before it has it", async () => {
    const prefix = uniquePrefix();
    const backplane = redisBackplane({ url: REDIS_URL, prefix, logger: silent });
    const broker = new EventBroker({ historySize: 10, backplane });
    opened.push({ broker, prefix, url: REDIS_URL });
    try {
      const client = broker.subscribe("x");
      await waitFor(() => backplane.stats().state === "ready" && backplane.stats().topics === 1);
      const before = await backplane.latest();
      broker.publish("x", { data: "a" });
      const [cursor, replay] = await Promise.all([
        backplane.latest(),
        backplane.replay(["x"], before!),
      ]);
      expect(cursor).toBe(`${before!.split("-")[0]}-${Number(before!.split("-")[1]) + 1}`);
      expect(replay?.events.map((e) => e.event.data)).toEqual(["a"]);
      await take(client, 1);
    } finally {
      for (const { broker: b, prefix: p, url } of opened.splice(0)) {
        b.close();
        await deleteKeys(p, url);
      }
    }
  });
});
