// Resumes on a Redis Cluster share their reads as on one Redis: a private
// cluster of three masters (no replicas), started by this file (skipped with
// the reason without redis-server 7+ and redis-cli). Many clients of two
// order groups resume at once on a fresh process: each gets exactly its
// events, from far fewer reads than resumes.

import { EventBroker } from "@burrow/sse-core";
import { take, waitFor } from "@burrow/test-utils";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeCluster, type PrivateCluster, startCluster } from "./fixtures/cluster.js";
import { redisBackplane } from "./index.js";

let cluster: PrivateCluster;
const brokers: EventBroker[] = [];

/** A broker on a new cluster backplane watching `topics`, once its link is ready with them. */
async function node(topics: string[]) {
  const backplane = redisBackplane({
    cluster: { nodes: cluster.nodes },
    prefix: "burrow-cluster-replay-test:",
    logger: false,
    timeoutMs: 2000,
  });
  const broker = new EventBroker({
    historySize: 100,
    bufferSize: 1000,
    backplane,
    resumeMissEvent: "resync",
  });
  brokers.push(broker);
  const watcher = broker.subscribe(topics);
  await waitFor(
    () => backplane.stats().state === "ready" && backplane.stats().topics === topics.length,
    "the backplane ready with its topics",
    20_000,
  );
  return { broker, backplane, watcher };
}

describeCluster("sse-redis on a Redis Cluster (3 masters): shared resume reads", () => {
  beforeAll(async () => {
    cluster = await startCluster(3, 0);
  }, 40_000);

  afterAll(async () => {
    for (const broker of brokers.splice(0)) broker.close();
    await cluster?.stop();
  });

  it("200 clients of two groups resuming at once: each gets its events once, in order, from far fewer reads", async () => {
    const topics = ["share:{a}:one", "share:{b}:one"];
    const publisher = await node(topics);
    const published: Record<string, string[]> = { [topics[0]!]: [], [topics[1]!]: [] };
    const publish = (topic: string, data: string) => {
      published[topic]!.push(data);
      publisher.broker.publish(topic, { data });
    };
    for (let i = 0; i < 40; i++) publish(topics[i % 2]!, `e${i}`);
    const seen = await take(publisher.watcher, 40);
    const idsOf = (topic: string) => seen.filter((e) => e.type === topic).map((e) => e.id!);
    const ids = topics.map(idsOf);
    // A fresh process: its own history is empty, only the cluster knows these ids.
    const fresh = await node(topics);
    const resumes = Array.from({ length: 200 }, (_, i) => ({
      topic: topics[i % 2]!,
      after: Math.floor(i / 2) % 20,
    }));
    const clients = resumes.map(({ topic, after }, i) =>
      fresh.broker.subscribe(topic, { lastEventId: ids[i % 2]![after]! }),
    );
    // Published while the replays are read: the overlap with live is removed by seq.
    for (let i = 40; i < 50; i++) publish(topics[i % 2]!, `e${i}`);
    for (const topic of topics) publish(topic, "end");
    const received = await Promise.all(
      clients.map(async (client, i) => {
        const { topic, after } = resumes[i]!;
        const wanted = published[topic]!.slice(after + 1);
        const events = await take(client, wanted.length);
        return { got: events.map((event) => event.data), wanted };
      }),
    );
    for (const { got, wanted } of received) expect(got).toEqual(wanted);
    expect(received.every(({ got }) => got.at(-1) === "end")).toBe(true);
    const stats = fresh.backplane.stats();
    expect(stats.replayReads).toBeGreaterThan(0);
    expect(stats.replayReads).toBeLessThan(40);
    expect(stats).toMatchObject({ replays: 0, crossGroupResumes: 0 });
    expect(fresh.broker.stats().resumeMisses).toBe(0);
  });
});
