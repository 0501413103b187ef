// Two brokers on the real Redis at REDIS_URL, each keeping topic "stats" on
// its process (TopicPolicy.local): a note crosses, each process's figures
// stay on it, and nothing of the local topic reaches Redis.
import { EventBroker } from "@burrow/sse-core";
import { take } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

describeRedis("a local topic on Redis", () => {
  const prefix = uniquePrefix();
  const brokers: EventBroker[] = [];

  afterAll(async () => {
    for (const broker of brokers) broker.close();
    await deleteKeys(prefix);
  });

  it("stays on its process while a normal topic crosses, and never reaches Redis", async () => {
    for (let i = 0; i < 2; i++) {
      brokers.push(
        new EventBroker({
          historySize: 10,
          backplane: redisBackplane({ url: REDIS_URL, prefix, logger: false }),
          topics: { stats: { kind: "state", local: true } },
        }),
      );
    }
    const [a, b] = brokers as [EventBroker, EventBroker];
    const onA = a.subscribe(["stats", "notes"]);
    const onB = b.subscribe(["stats", "notes"]);
    // Only "notes" is watched on Redis.
    await backplaneReady(a, 1);
    await backplaneReady(b, 1);
    a.publish("stats", { data: "figures of a" });
    b.publish("stats", { data: "figures of b" });
    a.publish("notes", { data: "note from a" });
    // Had a's stats gone through Redis, b would receive it before a's later note.
    const [seenA, seenB] = await Promise.all([take(onA, 2), take(onB, 2)]);
    expect(seenA.map((e) => e.data)).toEqual(["figures of a", "note from a"]);
    expect(seenB.map((e) => e.data)).toEqual(["figures of b", "note from a"]);
    // The local event's id names the backplane's position and this process's own.
    expect(seenA[0]!.id).toMatch(/~/);
    for (const broker of brokers) {
      expect(broker.stats().backplane).toMatchObject({ localOnly: 0, topics: 1 });
    }
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.some((key) => key.includes("notes"))).toBe(true);
      expect(keys.filter((key) => key.includes("stats"))).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
