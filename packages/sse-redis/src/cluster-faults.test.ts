// The backplane on a Redis Cluster whose masters hang: a private cluster of
// three masters without replicas (so that a stopped master is not replaced:
// it hangs until continued) and `cluster-require-full-coverage no` (the other
// masters go on serving), started once by this file. test-utils' burst suite
// (as on one Redis and on PostgreSQL: a burst reaches the other process in
// full; an overflow while the feed's master is stopped is signalled to the
// other process once it answers, and repaired there).

import { EventBroker } from "@burrow/sse-core";
import { type BurstBroker, describeBursts } from "@burrow/test-utils/backplane-burst-suite";
import { afterAll, beforeAll, describe } from "vitest";
import { groupOf, groupPrefix, keySlot } from "./cluster-keys.js";
import { describeCluster, type PrivateCluster, startCluster } from "./fixtures/cluster.js";
import { uniquePrefix } from "./fixtures/harness.js";
import { type RedisBackplaneOptions, type RedisClusterBackplane, redisBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const topics = { feed: { snapshot: () => "<p>feed as now</p>", target: "#feed" } };

let cluster: PrivateCluster;
const opened: EventBroker[] = [];

/** A broker on a new backplane on the private cluster (closed by the test's clean-up). */
function open(prefix: string, options: Partial<RedisBackplaneOptions> = {}) {
  const backplane = redisBackplane({
    cluster: { nodes: cluster.nodes },
    prefix,
    logger: silent,
    ...options,
  }) as RedisClusterBackplane;
  const broker = new EventBroker({
    historySize: 100,
    bufferSize: 20_000,
    backplane,
    topics,
    resumeMissEvent: "resync",
  });
  opened.push(broker);
  return { broker, backplane };
}

/** The master serving `topic`'s order group under `prefix`. */
const masterOf = (prefix: string, topic: string) =>
  cluster.masterOf(keySlot(`${groupPrefix(prefix, groupOf(topic))}meta`));

describeCluster("sse-redis on a Redis Cluster whose masters hang (3 masters, no replicas)", () => {
  beforeAll(async () => {
    cluster = await startCluster(3, 0, ["--cluster-require-full-coverage", "no"]);
  }, 40_000);

  afterAll(async () => {
    for (const broker of opened.splice(0)) broker.close();
    await cluster?.stop();
  });

  describeBursts({
    name: "sse-redis cluster",
    describe,
    uniquePrefix,
    open: (prefix, { holdable: _, ...options } = {}) =>
      open(prefix, options).broker as unknown as BurstBroker,
    async hold(prefix) {
      const master = await masterOf(prefix, "feed");
      await cluster.pause(master);
      return () => cluster.resume(master);
    },
    async cleanUp() {
      for (const broker of opened.splice(0)) broker.close();
      await cluster.healthy();
    },
  });
});
