// The backplane on a Redis Cluster: a private cluster of three masters with
// one replica each, started by this file (skipped with the reason without
// redis-server 7+ and redis-cli). Brokers on separate backplanes deliver
// topics of different masters to each other's clients, each topic in order,
// once; topics sharing a hash tag resume exactly, topics of different order
// groups resume as a miss; a master killed, its replica promoted: the
// outage is reported and delivery resumes.

import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EventBroker, type SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";
import { rawClient, startExample, take, waitFor } from "@burrow/test-utils";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupOf, groupPrefix, keySlot } from "./cluster-keys.js";
import { describeCluster, type PrivateCluster, startCluster } from "./fixtures/cluster.js";
import { freePort, killConnections, REDIS_URL } from "./fixtures/harness.js";
import { RedisBackplane, type RedisClusterBackplane, redisBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const PREFIX = "burrow-cluster-test:";

let cluster: PrivateCluster;
const open: { broker: EventBroker; backplane: RedisClusterBackplane }[] = [];

/** A broker on a new cluster backplane (closed after the file); its connections named `name`. */
async function node(
  name = "burrow-sse",
): Promise<{ broker: EventBroker; backplane: RedisClusterBackplane }> {
  const backplane = redisBackplane({
    cluster: { nodes: cluster.nodes },
    prefix: PREFIX,
    logger: silent,
    timeoutMs: 1000,
    redis: { connectionName: name },
  });
  const broker = new EventBroker({
    historySize: 100,
    bufferSize: 1000,
    backplane,
    resumeMissEvent: "resync",
  });
  await backplane.ready({ timeoutMs: 20_000 });
  const pair = { broker, backplane };
  open.push(pair);
  return pair;
}

/** The master serving `topic`'s order group. */
function masterOf(topic: string): Promise<string> {
  return cluster.masterOf(keySlot(`${groupPrefix(PREFIX, groupOf(topic))}meta`));
}

/** Two topics (named `<stem>-<n>`) whose groups are served by different masters. */
async function topicsOnTwoMasters(stem: string): Promise<[string, string]> {
  const first = `${stem}-0`;
  const master = await masterOf(first);
  for (let n = 1; ; n++) {
    if ((await masterOf(`${stem}-${n}`)) !== master) return [first, `${stem}-${n}`];
  }
}

const ready = (backplane: RedisClusterBackplane, topics: number) =>
  waitFor(
    () => backplane.stats().state === "ready" && backplane.stats().topics >= topics,
    `the backplane ready with ${topics} topics`,
    20_000,
  );

describe("redisBackplane({ cluster }) options", () => {
  /** What `create()` throws. */
  function thrown(create: () => unknown): SSEOptionError {
    try {
      create();
    } catch (error) {
      expect(error).toBeInstanceOf(SSEOptionError);
      return error as SSEOptionError;
    }
    throw new Error("nothing thrown");
  }
  const nodes = ["127.0.0.1:7000"];

  it.each([
    [
      { cluster: { nodes }, url: "redis://:secret@127.0.0.1:6379" },
      "url",
      "give its nodes in cluster.nodes",
    ],
    [{ cluster: { nodes }, prefix: "app{1}:" }, "prefix", "must not hold { or }"],
    [{ cluster: { nodes }, redis: { db: 2 } }, "redis.db", "database 0 only"],
    [{ cluster: { nodes: [] } }, "cluster.nodes", "at least one node"],
    [{ cluster: { nodes: ["127.0.0.1"] } }, "cluster.nodes", '"host:port"'],
    [{ cluster: { nodes: [{ host: "h", port: 0 }] } }, "cluster.nodes", "{ host, port }"],
    [{ cluster: "127.0.0.1:7000" }, "cluster", "a Redis.Cluster client or { nodes }"],
    [{ cluster: { nodes, options: [] } }, "cluster.options", "ClusterOptions"],
  ])("refuses %j naming %s", (options, option, fix) => {
    const error = thrown(() => redisBackplane(options as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(fix);
    expect(error.message).not.toContain("secret");
  });

  it("refuses a single-node client as cluster, a client as redis, and cluster on RedisBackplane", () => {
    const single = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: "127.0.0.1", port: 7000 }], { lazyConnect: true });
    expect(thrown(() => redisBackplane({ cluster: single as never })).message).toContain(
      "is a single-node ioredis client",
    );
    expect(thrown(() => redisBackplane({ redis: cluster as never })).option).toBe("redis");
    expect(thrown(() => new RedisBackplane({ cluster: { nodes } })).option).toBe("cluster");
    // A Cluster client is accepted: the backplane takes its startup nodes and options.
    const backplane = redisBackplane({ cluster, logger: false });
    expect(backplane.stats().state).toBe("connecting");
    // No head common to all groups, and presence stays per process.
    expect("latest" in backplane).toBe(false);
    expect("presence" in backplane).toBe(false);
    single.disconnect();
    cluster.disconnect();
  });
});

it("nodes unreachable: the link is down, and ready() times out with the cause", async () => {
  const port = await freePort();
  const backplane = redisBackplane({ cluster: { nodes: [`127.0.0.1:${port}`] }, logger: false });
  const broker = new EventBroker({ historySize: 10, backplane });
  const error = await backplane.ready({ timeoutMs: 1500 }).then(
    () => undefined,
    (rejection: SSEBackplaneError) => rejection,
  );
  expect(backplane.stats().state).toBe("down");
  broker.close();
  expect(error?.kind).toBe("timeout");
  expect(error?.message).toContain(`cluster 127.0.0.1:${port} was not ready within 1500 ms (`);
  expect(error?.message).not.toContain("no answer yet");
});

describeCluster("sse-redis on a Redis Cluster (3 masters, 1 replica each)", () => {
  beforeAll(async () => {
    cluster = await startCluster(3, 1);
  }, 40_000);

  afterAll(async () => {
    for (const { broker } of open.splice(0)) broker.close();
    await cluster?.stop();
  });

  it("two brokers deliver topics served by different masters to each other's clients, each in order, once", async () => {
    const [one, two] = await Promise.all([node(), node()]);
    const [a, b] = await topicsOnTwoMasters("deliver");
    const clients = [one, two].flatMap(({ broker }) => [
      broker.subscribe(a),
      broker.subscribe(b),
      broker.subscribe([a, b]),
    ]);
    await Promise.all([ready(one.backplane, 2), ready(two.backplane, 2)]);
    for (let i = 0; i < 40; i++) {
      one.broker.publish(a, { data: `a${i}` });
      two.broker.publish(b, { data: `b${i}` });
    }
    const [aOnOne, bOnOne, bothOnOne, aOnTwo, bOnTwo, bothOnTwo] = await Promise.all(
      clients.map((client, i) => take(client, i % 3 === 2 ? 80 : 40)),
    );
    const numbered = (stem: string) => Array.from({ length: 40 }, (_, i) => `${stem}${i}`);
    for (const events of [aOnOne, aOnTwo])
      expect(events!.map((e) => e.data)).toEqual(numbered("a"));
    for (const events of [bOnOne, bOnTwo])
      expect(events!.map((e) => e.data)).toEqual(numbered("b"));
    for (const events of [bothOnOne, bothOnTwo]) {
      const data = events!.map((e) => e.data!);
      expect(data.filter((d) => d.startsWith("a"))).toEqual(numbered("a"));
      expect(data.filter((d) => d.startsWith("b"))).toEqual(numbered("b"));
    }
    // Each group has its own order: ids `<epoch>-<seq>`, seq 1..40 in each.
    expect(aOnOne!.map((e) => Number(e.id!.split("-")[1]))).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(aOnOne![0]!.id!.split("-")[0]).not.toBe(bOnOne![0]!.id!.split("-")[0]);
    expect(await one.broker.cursor()).toBeUndefined();
  });

  it("topics sharing a hash tag resume exactly on another broker; topics of two groups resume as a told miss", async () => {
    const [one, two] = await Promise.all([node(), node()]);
    const chat = "room:{7}:chat";
    const users = "room:{7}:users";
    const [x, y] = await topicsOnTwoMasters("resume");
    const tagged = one.broker.subscribe([chat, users]);
    const split = one.broker.subscribe([x, y]);
    await ready(one.backplane, 4);
    for (let i = 0; i < 6; i++) {
      one.broker.publish(i % 2 ? chat : users, { data: `t${i}` });
      one.broker.publish(i % 2 ? x : y, { data: `s${i}` });
    }
    const seenTagged = await take(tagged, 3);
    const seenSplit = await take(split, 3);
    one.broker.unsubscribe(tagged);
    one.broker.unsubscribe(split);

    // One group: exactly the events after the id, then live ones.
    const back = two.broker.subscribe([users, chat], { lastEventId: seenTagged[2]!.id! });
    expect((await take(back, 3)).map((e) => e.data)).toEqual(["t3", "t4", "t5"]);
    // Two groups: no common order, so a miss, told first, then live events only.
    const missed = two.broker.subscribe([x, y], { lastEventId: seenSplit[2]!.id! });
    await ready(two.backplane, 4);
    two.broker.publish(chat, { data: "live" });
    two.broker.publish(x, { data: "live x" });
    expect((await take(back, 1))[0]?.data).toBe("live");
    const after = await take(missed, 2);
    expect(after.map((e) => e.type)).toEqual(["resync", x]);
    expect(after[1]!.data).toBe("live x");
    expect(two.broker.stats()).toMatchObject({ resumed: 1, resumeMisses: 1 });
    expect(two.backplane.stats().crossGroupResumes).toBe(1);
  });

  it("refuses, as configuration errors with the fix, a cluster's node given as url and a single Redis given as cluster", async () => {
    const onNode = redisBackplane({
      url: `redis://${cluster.nodes[0]}`,
      prefix: PREFIX,
      logger: false,
    });
    const onSingle = redisBackplane({
      cluster: { nodes: [REDIS_URL.replace("redis://", "")] },
      logger: false,
    });
    const brokers = [onNode, onSingle].map(
      (backplane) => new EventBroker({ historySize: 10, backplane }),
    );
    // One topic per group on every master: one of them is not on the node given as url.
    for (const broker of brokers) for (let i = 0; i < 6; i++) broker.subscribe(`conf-${i}`);
    const refusals = await Promise.all(
      [onNode, onSingle].map((backplane) =>
        backplane.ready({ timeoutMs: 10_000 }).then(
          () => undefined,
          (error: SSEBackplaneError) => error,
        ),
      ),
    );
    for (const broker of brokers) broker.close();
    expect(refusals.map((error) => error?.kind)).toEqual(["configuration", "configuration"]);
    expect(refusals[0]!.message).toContain(
      "give its nodes as redisBackplane({ cluster: { nodes } })",
    );
    expect(refusals[1]!.message).toContain(
      "are not a Redis Cluster: give one server's address as url",
    );
  });

  it("refuses, as a configuration error with the fix, a cluster without SSUBSCRIBE (as Redis before 7)", async () => {
    const old = await startCluster(1, 0, ["--rename-command", "SSUBSCRIBE", ""]);
    try {
      const backplane = redisBackplane({ cluster: { nodes: old.nodes }, logger: false });
      const broker = new EventBroker({ historySize: 10, backplane });
      broker.subscribe("news");
      const refusal = await backplane.ready({ timeoutMs: 10_000 }).then(
        () => undefined,
        (error: SSEBackplaneError) => error,
      );
      broker.close();
      expect(refusal?.kind).toBe("configuration");
      expect(refusal?.message).toContain("needs Redis 7 or later (sharded pub/sub: SSUBSCRIBE");
    } finally {
      await old.stop();
    }
  });

  it("the README's example (examples/redis-cluster.mjs), twice: a room's events reach the other process, and resume there", async () => {
    const example = fileURLToPath(new URL("../examples/redis-cluster.mjs", import.meta.url));
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(readFileSync(example, "utf8").trimEnd());
    const env = { CLUSTER_NODES: cluster.nodes.join(","), REDIS_PREFIX: PREFIX };
    const [a, b] = await Promise.all([startExample(example, env), startExample(example, env)]);
    const port = (url: string) => Number(new URL(url).port);
    try {
      const client = rawClient(port(a.url), "/events?room=42");
      await client.ready;
      await waitFor(
        async () => JSON.parse(await (await fetch(a.url)).text()).topics === 2,
        "a to subscribe the room",
      );
      for (const text of ["one", "two"])
        await fetch(`${b.url}/say?room=42&text=${text}`, { method: "POST" });
      await waitFor(() => client.events.length >= 2, "the room's events on a");
      client.close();
      expect(client.events.map((e) => e.data)).toEqual(["one", "two"]);
      const back = rawClient(port(b.url), "/events?room=42", {
        headers: { "Last-Event-ID": client.events[0]!.id! },
      });
      await waitFor(() => back.events.length >= 1, "the resume on b");
      back.close();
      expect(back.events.map((e) => e.data)).toEqual(["two"]);
    } finally {
      for (const { child } of [a, b]) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    }
  });

  it("a subscriber connection cut: the link goes down, reads back what its group missed, and delivers everything once, in order", async () => {
    const [one, two] = await Promise.all([node("cut-one"), node()]);
    const topic = "cut";
    const client = one.broker.subscribe(topic);
    await Promise.all([ready(one.backplane, 1), ready(two.backplane, 0)]);
    const errors = one.backplane.stats().errors;
    expect(await killConnections("cut-one-sub", `redis://${await masterOf(topic)}`)).toBe(1);
    // Published at once, while one is not subscribed: it reads them back from the stream.
    for (let i = 0; i < 20; i++) two.broker.publish(topic, { data: String(i) });
    const events = await take(client, 20);
    expect(events.map((e) => e.data)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    await ready(one.backplane, 1);
    expect(one.backplane.stats()).toMatchObject({ errors: errors + 1, gaps: 0 });
    expect(one.backplane.stats().recovered).toBeGreaterThan(0);
    two.broker.publish(topic, { data: "live" });
    expect((await take(client, 1))[0]?.data).toBe("live");
  });

  it("a master killed and its replica promoted: the outage is reported, and delivery resumes on both brokers", async () => {
    const [one, two] = await Promise.all([node(), node()]);
    const topic = "failover";
    const client = one.broker.subscribe(topic);
    const other = two.broker.subscribe(topic);
    await Promise.all([ready(one.backplane, 1), ready(two.backplane, 1)]);
    two.broker.publish(topic, { data: "before" });
    expect((await take(client, 1))[0]?.data).toBe("before");
    expect((await take(other, 1))[0]?.data).toBe("before");
    const master = await masterOf(topic);
    const errors = one.backplane.stats().errors;

    await cluster.kill(master);
    await waitFor(
      () => one.backplane.stats().state === "down",
      "the outage to be reported",
      20_000,
    );
    // Promoted once the others mark the master as failed (cluster-node-timeout: 1 s).
    await waitFor(
      async () => (await masterOf(topic).catch(() => master)) !== master,
      "the replica to be promoted",
      20_000,
    );
    await cluster.healthy();
    await Promise.all([ready(one.backplane, 1), ready(two.backplane, 1)]);
    expect(one.backplane.stats().errors).toBeGreaterThan(errors);

    two.broker.publish(topic, { data: "after" });
    one.broker.publish(topic, { data: "after too" });
    const next = async (c: typeof client) => (await take(c, 2)).map((e) => e.data);
    const [onOne, onTwo] = [await next(client), await next(other)];
    expect(onTwo).toEqual(onOne);
    expect([...onOne].sort()).toEqual(["after", "after too"]);
  }, 45_000);
});
