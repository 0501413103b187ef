// A rolling deploy on the real Redis at REDIS_URL: a process of an earlier
// version still publishes one single-event message per event; a process of
// this version receives those events too, in the one order, between its own
// batches.

import { EventBroker } from "@burrow/sse-core";
import { take } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { topicKeys } from "./codec.js";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

const prefix = uniquePrefix();
afterAll(() => deleteKeys(prefix));

describeRedis("a process of an earlier version on the same Redis", () => {
  it("its single-event messages reach this version's clients, in order with this version's batches", async () => {
    const backplane = redisBackplane({ url: REDIS_URL, prefix, logger: false });
    const broker = new EventBroker({ historySize: 10, backplane });
    const earlier = new Redis(REDIS_URL);
    try {
      const client = broker.subscribe("news");
      await backplaneReady(broker, 1);
      const keys = topicKeys(prefix, "news");

      broker.publish("news", { data: "new 1" });
      const seen = await take(client, 1);
      const epoch = await earlier.hget(keys.meta, "epoch");
      // What the publish script of earlier versions did: the next seq, and one message for the event.
      const seq = await earlier.hincrby(keys.meta, "seq", 1);
      await earlier.publish(keys.channel, `${seq}\n${epoch}\nold:1\n1\n{"data":"old"}`);
      broker.publish("news", { data: "new 2" });

      seen.push(...(await take(client, 2)));
      expect(seen.map(({ data, id }) => [data, id])).toEqual([
        ["new 1", `${epoch}-${seq - 1}`],
        ["old", `${epoch}-${seq}`],
        ["new 2", `${epoch}-${seq + 1}`],
      ]);
    } finally {
      earlier.disconnect();
      await broker.close();
    }
  });
});
