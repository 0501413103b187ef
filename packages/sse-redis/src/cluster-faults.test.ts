// The backplane on a Redis Cluster whose masters hang: a private cluster of
// three masters without replicas (so that a stopped master is not replaced:
// it hangs until continued) and `cluster-require-full-coverage no` (the other
// masters go on serving), started once by this file. test-utils' burst suite
// (as on one Redis and on PostgreSQL: a burst reaches the other process in
// full; an overflow while the feed's master is stopped is signalled to the
// other process once it answers, and repaired there); and a master stopped
// (SIGSTOP) under publishes and resumes: its own publishes reach this
// process's clients, resumes are told misses, nothing waits for ever, and
// delivery and resumes come back once it is continued (SIGCONT).

import { EventBroker } from "@burrow/sse-core";
import { take, waitFor } from "@burrow/test-utils";
import { type BurstBroker, describeBursts } from "@burrow/test-utils/backplane-burst-suite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

  it("a master stopped: its group's publishes reach this process's clients, resumes are told misses, nothing waits for ever; once continued, delivery and resumes come back", async () => {
    const prefix = uniquePrefix();
    const [one, two] = [open(prefix, { timeoutMs: 1000 }), open(prefix, { timeoutMs: 1000 })];
    // Publishes only: no subscriber connection to that master would notice it hang.
    const three = open(prefix, { timeoutMs: 1000 });
    const ready = () =>
      waitFor(
        () => [one, two].every(({ backplane }) => backplane.stats().state === "ready"),
        "both backplanes ready",
        20_000,
      );
    const here = one.broker.subscribe("hung");
    const there = two.broker.subscribe("hung");
    await ready();
    two.broker.publish("hung", { data: "before" });
    const [before] = await take(here, 1);
    await take(there, 1);
    const master = await masterOf(prefix, "hung");

    await cluster.pause(master);
    let down: ReturnType<RedisClusterBackplane["stats"]>;
    try {
      // Sent to the stopped master: delivered here once the hang is noticed.
      one.broker.publish("hung", { data: "while hung" });
      three.broker.publish("hung", { data: "from three" });
      // Its read sent to the stopped master (or the hang noticed first): a told miss either way.
      const early = one.broker.subscribe("hung", { lastEventId: before!.id! });
      expect((await take(early, 1)).map((e) => e.type)).toEqual(["resync"]);
      expect((await take(here, 1)).map((e) => [e.data, e.id])).toEqual([["while hung", undefined]]);
      await waitFor(() => one.backplane.stats().state === "down", "the hang to be noticed");
      one.broker.publish("hung", { data: "while down" });
      expect((await take(here, 1)).map((e) => [e.data, e.id])).toEqual([["while down", undefined]]);
      const late = one.broker.subscribe("hung", { lastEventId: before!.id! });
      expect((await take(late, 1)).map((e) => e.type)).toEqual(["resync"]);
      one.broker.unsubscribe(early);
      one.broker.unsubscribe(late);
      await waitFor(() => three.backplane.stats().pending === 0, "three's publish to be given up");
      expect(three.backplane.stats()).toMatchObject({ localOnly: 1, overflow: 0 });
      down = one.backplane.stats();
    } finally {
      await cluster.resume(master);
    }
    expect(down.timeouts).toBeGreaterThan(0);
    expect(down.localOnly).toBeGreaterThanOrEqual(1);
    expect(down.replays).toBe(0);
    expect(one.broker.stats().resumeMisses).toBe(2);

    await cluster.healthy();
    await ready();
    two.broker.publish("hung", { data: "after" });
    // The master may run what was sent to it once continued: "from three" then reaches one late
    // (once), and "while hung", delivered here already, does not again; the replay has them then.
    const untilAfter = async (client: AsyncIterable<{ data?: string }>) => {
      const data: (string | undefined)[] = [];
      for await (const event of client) {
        data.push(event.data);
        if (event.data === "after") break;
      }
      return data;
    };
    const sentToIt = ["while hung", "from three"];
    const live = await untilAfter(here);
    expect(live.filter((data) => data !== "from three")).toEqual(["after"]);
    expect(new Set(live).size).toBe(live.length);
    const replayed = await untilAfter(one.broker.subscribe("hung", { lastEventId: before!.id! }));
    expect(replayed.filter((data) => !sentToIt.includes(data!))).toEqual(["after"]);
    expect(new Set(replayed).size).toBe(replayed.length);
    expect(one.broker.stats().resumeMisses).toBe(2);
    expect(one.backplane.stats()).toMatchObject({ state: "ready", replays: 0, pending: 0 });
  }, 45_000);
});
