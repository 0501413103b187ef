// The backplane in one process, against the real Redis at REDIS_URL: options,
// per-topic subscriptions, connections killed mid-stream, resumes longer than
// this process's history; and the shared suites (test-utils' backplane-suite,
// backplane-last-suite): history, ids, prefixes, closing, latest(), last(),
// paged resumes.

import { setImmediate as tick } from "node:timers/promises";
import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { take, tcpProxy, waitFor } from "@burrow/test-utils";
import { describeLastValue, type LastValueHarness } from "@burrow/test-utils/backplane-last-suite";
import { backplaneReady, describeBackplane } from "@burrow/test-utils/backplane-suite";
import { describeSharedReplays } from "@burrow/test-utils/shared-replay-suite";
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
      "sse: timeout: is not an option of redisBackplane, got 500 — did you mean `timeoutMs`?",
    ],
    [
      { historySize: 100 },
      "historySize",
      "sse: historySize: is not an option of redisBackplane, got 100 — known: url, redis, prefix, logger, timeoutMs, maxPending, maxReplays, presenceTtlMs, cluster",
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
afterAll(() => admin.disconnect());

function broker(options: { historySize?: number; prefix?: string } = {}): EventBroker {
  const prefix = options.prefix ?? uniquePrefix();
  prefixes.push(prefix);
  const backplane = redisBackplane({ url: REDIS_URL, prefix, logger: silent });
  const created = new EventBroker({
    historySize: options.historySize ?? 10,
    bufferSize: 1000,
    backplane,
  });
  brokers.push(created);
  return created;
}

function backplaneOf(b: EventBroker): RedisBackplaneStats {
  return b.stats().backplane as RedisBackplaneStats;
}

const ready = (b: EventBroker, topics = 0) => backplaneReady(b, topics);

describeRedis("RedisBackplane on the real Redis", () => {
  afterEach(() => {
    for (const b of brokers.splice(0)) b.close();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(prefix);
  });

  it("recovers what another process published while it was cut from Redis before any event came through it", async () => {
    // Its order must start at Redis's head when it first connects: with no event
    // received yet, a catch-up after the cut used to read nothing, and the events
    // published meanwhile never reached its clients (nor were counted as a gap).
    const proxy = await tcpProxy(REDIS_URL);
    try {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      const cutOff = new EventBroker({
        historySize: 10,
        bufferSize: 100,
        backplane: redisBackplane({ url: proxy.url, prefix, logger: silent }),
      });
      brokers.push(cutOff);
      const other = broker({ prefix });
      const client = cutOff.subscribe("x");
      await ready(cutOff, 1);
      await ready(other);
      other.publish("y", { data: "elsewhere" }); // the order moves on; cutOff does not watch y
      proxy.cut();
      await waitFor(() => backplaneOf(cutOff).state === "down", "the cut to be noticed");
      other.publish("x", { data: "while cut" });
      await waitFor(
        async () => (await other.cursor())?.endsWith("-2") === true,
        "two events ordered",
      );
      proxy.restore();
      await ready(cutOff, 1);
      other.publish("x", { data: "after" });
      const got = await take(client, 2);
      expect(got.map((e) => e.data)).toEqual(["while cut", "after"]);
      expect(backplaneOf(cutOff)).toMatchObject({ recovered: 1, gaps: 0 });
    } finally {
      proxy.close();
    }
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
});

// What every backplane does in one process (test-utils' backplane suites, also run against PostgreSQL).
const harness: LastValueHarness<ReturnType<EventBroker["subscribe"]>> = {
  describe: describeRedis,
  name: "sse-redis",
  uniquePrefix,
  backplane: (prefix) => redisBackplane({ url: REDIS_URL, prefix, logger: silent }),
  broker: (backplane, historySize, topics) =>
    new EventBroker({
      historySize,
      bufferSize: 1000,
      backplane: backplane as RedisBackplane,
      topics,
    }),
  stored: async (prefix) => {
    const keys = await admin.keys(`${prefix}h:*`);
    const topic = (key: string) => key.slice(`${prefix}h:`.length);
    return Object.fromEntries(
      await Promise.all(keys.map(async (key) => [topic(key), await admin.xlen(key)] as const)),
    );
  },
  url: REDIS_URL,
  through: (url, prefix, timeoutMs) => redisBackplane({ url, prefix, timeoutMs, logger: silent }),
  drop: deleteKeys,
};
describeBackplane(harness);
describeLastValue(harness);
describeSharedReplays(harness);
