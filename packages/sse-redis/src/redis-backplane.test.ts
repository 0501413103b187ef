// The backplane in one process, against the real Redis at REDIS_URL: options,
// per-topic subscriptions, history trimming and eviction, ids, closing.

import { setImmediate as tick } from "node:timers/promises";
import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { take, waitFor } from "@burrow/test-utils";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import {
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_REPLAYS,
  DEFAULT_PREFIX,
  DEFAULT_TIMEOUT_MS,
  RedisBackplane,
  type RedisBackplaneStats,
  redisBackplane,
} from "./index.js";

const silent = { error: () => {}, info: () => {} };

describe("redisBackplane options", () => {
  /** What `redisBackplane(options)` throws. */
  function thrownBy(options: unknown): unknown {
    try {
      redisBackplane(options as never);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it.each([
    [
      { url: "http://localhost" },
      "url",
      'sse: url: must be a redis:// or rediss:// URL, e.g. "redis://user:password@127.0.0.1:6379/0", got "http://localhost" (a string)',
    ],
    [{ prefix: 3 }, "prefix", 'sse: prefix: must be a string, e.g. "myapp:", got 3'],
    [
      { redis: null },
      "redis",
      "sse: redis: must be an ioredis options object, e.g. { tls: {} }, got null",
    ],
    [
      { logger: { error: () => {} } },
      "logger",
      "sse: logger: must have error() and info() methods, or be false, got an object",
    ],
    [
      { timeoutMs: 0 },
      "timeoutMs",
      "sse: timeoutMs: must be a positive integer (milliseconds), got 0",
    ],
    [
      { timeoutMs: "2000" },
      "timeoutMs",
      'sse: timeoutMs: must be a positive integer (milliseconds), got "2000" (a string)',
    ],
    [
      { maxPending: 1.5 },
      "maxPending",
      "sse: maxPending: must be a positive integer (publishes), got 1.5",
    ],
    [
      { maxReplays: -1 },
      "maxReplays",
      "sse: maxReplays: must be a positive integer (replays), got -1",
    ],
    [
      { maxReplays: Number.POSITIVE_INFINITY },
      "maxReplays",
      "sse: maxReplays: must be a positive integer (replays), got Infinity",
    ],
    [
      { timeout: 500 },
      "timeout",
      "sse: timeout: is not an option of redisBackplane (known: url, redis, prefix, logger, timeoutMs, maxPending, maxReplays, presenceTtlMs), got 500",
    ],
    [
      "redis://127.0.0.1:6379",
      "options",
      'sse: options: redisBackplane takes an options object, e.g. { url: "redis://127.0.0.1:6379" }, got "redis://127.0.0.1:6379" (a string)',
    ],
  ])("rejects %j with an SSEOptionError naming %s", (options, option, message) => {
    const error = thrownBy(options);
    expect(SSEOptionError.isInstance(error)).toBe(true);
    // SSEOptionError extends TypeError (a RangeError before, for the numbers).
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ name: "SSEOptionError", option, message });
  });

  it("has documented defaults", () => {
    expect(DEFAULT_PREFIX).toBe("burrow-sse:");
    expect([DEFAULT_TIMEOUT_MS, DEFAULT_MAX_PENDING, DEFAULT_MAX_REPLAYS]).toEqual([
      2000, 10_000, 4,
    ]);
    expect(new RedisBackplane().stats()).toMatchObject({ state: "connecting", topics: 0 });
  });
});

const prefixes: string[] = [];
const brokers: EventBroker[] = [];
const admin = new Redis(REDIS_URL, { lazyConnect: true });

const backplanes = new WeakMap<EventBroker, RedisBackplane>();

function broker(options: { historySize?: number; prefix?: string } = {}): EventBroker {
  const prefix = options.prefix ?? uniquePrefix();
  prefixes.push(prefix);
  const backplane = redisBackplane({ url: REDIS_URL, prefix, logger: silent });
  const created = new EventBroker({
    historySize: options.historySize ?? 10,
    bufferSize: 1000,
    backplane,
  });
  backplanes.set(created, backplane);
  brokers.push(created);
  return created;
}

function backplaneOf(b: EventBroker): RedisBackplaneStats {
  return b.stats().backplane as RedisBackplaneStats;
}

async function ready(b: EventBroker, topics = 0): Promise<void> {
  await waitFor(
    () => backplaneOf(b).state === "ready" && backplaneOf(b).topics >= topics,
    "the backplane to be ready",
  );
}

describeRedis("RedisBackplane on the real Redis", () => {
  afterEach(() => {
    for (const b of brokers.splice(0)) b.close();
  });

  afterAll(async () => {
    admin.disconnect();
    for (const prefix of prefixes) await deleteKeys(prefix);
  });

  it("subscribes to a topic's channel only while a local client watches it", async () => {
    const b = broker();
    const prefix = prefixes.at(-1)!;
    const numsub = async (topic: string) =>
      Number(((await admin.pubsub("NUMSUB", `${prefix}t:${topic}`)) as [string, number])[1]);
    const x1 = b.subscribe(["x", "y"]);
    const x2 = b.subscribe("x");
    await ready(b, 2);
    expect([await numsub("x"), await numsub("y")]).toEqual([1, 1]);
    b.unsubscribe(x1);
    await waitFor(async () => (await numsub("y")) === 0, "y to be unsubscribed");
    expect(await numsub("x")).toBe(1);
    b.unsubscribe(x2);
    await waitFor(async () => (await numsub("x")) === 0, "x to be unsubscribed");
    expect(backplaneOf(b).topics).toBe(0);
  });

  it("keeps historySize events per topic; a resume after an evicted event is a miss, a later one replays", async () => {
    const b = broker({ historySize: 3 });
    const prefix = prefixes.at(-1)!;
    const watcher = b.subscribe("x");
    await ready(b, 1);
    for (let i = 1; i <= 5; i++) b.publish("x", { data: String(i) });
    const seen = await take(watcher, 5);
    expect(await admin.xlen(`${prefix}h:x`)).toBe(3);
    const evicted = b.subscribe("x", { lastEventId: seen[0]!.id! });
    const kept = b.subscribe("x", { lastEventId: seen[1]!.id! });
    expect((await take(kept, 3)).map((e) => e.data)).toEqual(["3", "4", "5"]);
    b.publish("x", { data: "6" });
    expect((await take(evicted, 1)).map((e) => e.data)).toEqual(["6"]);
    expect(b.stats()).toMatchObject({ resumed: 1, resumeMisses: 1 });
  });

  it("gives events global ids `<epoch>-<seq>`, keeps explicit ids, and resumes only from its own", async () => {
    const b = broker();
    const watcher = b.subscribe("x");
    await ready(b, 1);
    b.publish("x", { data: "1" });
    b.publish("x", { data: "2", id: "mine" });
    const [auto, explicit] = await take(watcher, 2);
    expect(auto?.id).toMatch(/^[0-9a-z]+-1$/);
    expect(explicit).toEqual({ type: "x", data: "2", id: "mine" });
    const fromExplicit = b.subscribe("x", { lastEventId: "mine" });
    b.publish("x", { data: "3" });
    expect((await take(fromExplicit, 1)).map((e) => e.data)).toEqual(["3"]);
    expect(b.stats().resumeMisses).toBe(1);
  });

  it("without history, stores nothing and assigns no id", async () => {
    const b = broker({ historySize: 0 });
    const prefix = prefixes.at(-1)!;
    const watcher = b.subscribe("x");
    await ready(b, 1);
    b.publish("x", { data: "1" });
    expect(await take(watcher, 1)).toEqual([{ type: "x", data: "1" }]);
    expect(await admin.exists(`${prefix}h:x`)).toBe(0);
  });

  it("brokers on different prefixes do not share topics", async () => {
    const one = broker();
    const other = broker();
    const a = one.subscribe("x");
    const b = other.subscribe("x");
    await Promise.all([ready(one, 1), ready(other, 1)]);
    other.publish("x", { data: "other" });
    one.publish("x", { data: "one" });
    expect((await take(a, 1))[0]?.data).toBe("one");
    expect((await take(b, 1))[0]?.data).toBe("other");
  });

  it("serves one broker only, and closes with it", async () => {
    const backplane = redisBackplane({ url: REDIS_URL, prefix: uniquePrefix(), logger: silent });
    const b = new EventBroker({ backplane });
    expect(() => new EventBroker({ backplane })).toThrow("sse-redis: backplane: already attached");
    await waitFor(() => backplane.stats().state === "ready", "ready");
    b.close();
    await backplane.close();
    expect(backplane.stats().state).toBe("closed");
    expect(b.publish("x", { data: "after close" })).toBe(0);
  });
  it.each([
    ["its publishing connection", ["pub"]],
    ["both its connections", ["pub", "sub"]],
  ])(
    "delivers each of its own publishes exactly once when %s is killed mid-stream",
    async (_, roles) => {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      const name = `burrow-sse-own-${prefix.split(":")[1]}`;
      // Room for the burst delivered locally while the iterator waits for its turn.
      const b = new EventBroker({
        bufferSize: 1000,
        // Enough to recover what was published while the subscription was cut.
        historySize: 1000,
        backplane: redisBackplane({ prefix, logger: silent, redis: { connectionName: name } }),
      });
      brokers.push(b);
      const client = b.subscribe("x");
      await ready(b, 1);
      const total = 300;
      const list = (await admin.client("LIST")) as string;
      const ids = roles.map(
        (role) => new RegExp(`id=(\\d+) .*name=${name}-${role}`).exec(list)?.[1],
      );
      expect(ids).not.toContain(undefined);
      let killing: Promise<unknown[]> | undefined;
      for (let i = 0; i < total; i++) {
        // Not awaited, and bursts of publishes: the kill lands while some are in flight.
        if (i === 100) killing = Promise.all(ids.map((id) => admin.client("KILL", "ID", id!)));
        b.publish("x", { data: String(i) });
        if (i % 20 === 0) await tick();
      }
      expect(await killing).toEqual(ids.map(() => 1));
      // Redis acknowledged the kill before the backplane notices it: until then the state is
      // still "ready" from before, and a marker sent on the dead connection is not through Redis.
      await waitFor(() => backplaneOf(b).errors === 1, "the kill to be noticed");
      // A marker through Redis after everything: any late echo of the above comes before it.
      await ready(b, 1);
      b.publish("x", { data: "marker" });
      const events = await take(client, total + 1);
      const data = events.slice(0, -1).map((e) => Number(e.data));
      expect(events.at(-1)?.data).toBe("marker");
      expect([...data].sort((m, n) => m - n)).toEqual(Array.from({ length: total }, (_, i) => i));
      expect(backplaneOf(b)).toMatchObject({ state: "ready", errors: 1 });
      expect(b.stats().dropped).toBe(0);
    },
  );

  it("latest(): replay after it returns exactly the events published since, on an empty prefix and after events", async () => {
    const b = broker({ historySize: 10 });
    const backplane = backplanes.get(b)!;
    const watcher = b.subscribe(["x", "y"]);
    await ready(b, 2);
    // Nothing published under this prefix yet: the epoch is set now, and the seq is 0.
    const empty = await backplane.latest();
    expect(empty).toMatch(/^[0-9a-z]+-0$/);
    b.publish("x", { data: "1" });
    b.publish("y", { data: "2" });
    b.publish("x", { data: "3" });
    const first = await take(watcher, 3);
    expect(first[0]?.id?.split("-")[0]).toBe(empty!.split("-")[0]);
    const fromEmpty = await backplane.replay(["x"], empty!);
    expect(fromEmpty?.events.map((e) => [e.topic, e.event.data, e.event.id])).toEqual([
      ["x", "1", first[0]!.id],
      ["x", "3", first[2]!.id],
    ]);
    expect((await backplane.replay(["x", "y"], empty!))?.events).toHaveLength(3);

    const cursor = await backplane.latest();
    expect(cursor).toBe(first[2]!.id);
    b.publish("y", { data: "4" });
    b.publish("x", { data: "5" });
    b.publish("y", { data: "6" });
    await take(watcher, 3);
    expect((await backplane.replay(["y"], cursor!))?.events.map((e) => e.event.data)).toEqual([
      "4",
      "6",
    ]);
    // A broker resuming from it gets the same events, then live ones.
    const resumed = b.subscribe("x", { lastEventId: cursor! });
    b.publish("x", { data: "7" });
    expect((await take(resumed, 2)).map((e) => e.data)).toEqual(["5", "7"]);
  });

  it("latest() is undefined without history", async () => {
    const b = broker({ historySize: 0 });
    await ready(b);
    expect(await backplanes.get(b)!.latest()).toBeUndefined();
  });

  it("reads a long resume in pages: 3 topics of 250 events each, all in global order", async () => {
    const b = broker({ historySize: 300 });
    const watcher = b.subscribe(["x", "y", "z"]);
    await ready(b, 3);
    for (let i = 0; i < 750; i++) b.publish(["x", "y", "z"][i % 3]!, { data: String(i) });
    const seen = await take(watcher, 750);
    const start = `${seen[0]!.id!.split("-")[0]}-0`;
    const replay = await backplanes.get(b)!.replay(["z", "x", "y"], start);
    expect(replay?.events.map((e) => e.event.data)).toEqual(seen.map((e) => e.data));
    expect(replay?.events.map((e) => e.event.id)).toEqual(seen.map((e) => e.id));
  });

  it("a resume that needs more than its historySize events of a topic is a miss, never a cut", async () => {
    const prefix = uniquePrefix();
    // Another process keeps a longer history under the same prefix.
    const long = broker({ historySize: 50, prefix });
    const short = broker({ historySize: 10, prefix });
    const watcher = long.subscribe("x");
    await ready(long, 1);
    for (let i = 0; i < 30; i++) long.publish("x", { data: String(i) });
    const seen = await take(watcher, 30);
    await ready(short);
    const backplane = backplanes.get(short)!;
    expect(await backplane.replay(["x"], `${seen[0]!.id!.split("-")[0]}-0`)).toBeUndefined();
    expect(await backplane.replay(["x"], seen[18]!.id!)).toBeUndefined();
    const last10 = await backplane.replay(["x"], seen[19]!.id!);
    expect(last10?.events.map((e) => e.event.data)).toEqual(seen.slice(20).map((e) => e.data));
  });
});
