// Redis faults, with server child processes: unreachable at start, connections
// killed mid-stream (CLIENT KILL on the real Redis), a private redis-server
// crashed and restarted, and one frozen (SIGSTOP) and thawed. No crash, a
// clear logged error, local delivery goes on, memory stays bounded,
// reconnection by itself, state in stats().
import { randomBytes } from "node:crypto";
import { EventBroker } from "@burrow/sse-core";
import { BURST_FACTOR } from "@burrow/sse-core/adapter";
import { rawClient, recordEvents, take, waitFor } from "@burrow/test-utils";
import { checkOutageMidStream, checkUnreachableAtStart } from "@burrow/test-utils/backplane-faults";
import { listening, state } from "@burrow/test-utils/backplane-server";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import {
  deleteKeys,
  describeRedis,
  freePort,
  hasRedisServer,
  killConnections,
  killServers,
  type PrivateRedis,
  privateRedis,
  startRedisServer,
  uniquePrefix,
} from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  killServers();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const noRedisServer = !hasRedisServer();
/** The test's name, saying why when it is skipped. */
const needsRedisServer = (name: string) =>
  noRedisServer ? `${name} [skipped: no redis-server binary on PATH to crash and restart]` : name;

/** A test that gets a private redis-server of its own, started (skipped without the binary). */
function itOnPrivateRedis(name: string, body: (redis: PrivateRedis) => Promise<void>): void {
  it.skipIf(noRedisServer)(needsRedisServer(name), async () => {
    const redis = privateRedis(await freePort());
    cleanups.push(() => redis.kill());
    await redis.start();
    await body(redis);
  });
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => String(from + i));

describeRedis("Redis faults", () => {
  it("Redis unreachable at start: the server runs, says so, delivers locally, and connects once Redis is up", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const server = await startRedisServer({ prefix: uniquePrefix(), redisUrl: url });
    const redis = privateRedis(port);
    cleanups.push(() => redis.kill());
    await checkUnreachableAtStart(
      server,
      `[error] sse-redis: Redis at ${url} is unreachable (connect ECONNREFUSED`,
      noRedisServer ? undefined : { name: "sse-redis", engine: "Redis", url, start: redis.start },
    );
  });

  it("connections killed mid-stream (CLIENT KILL): the process reconnects and recovers what it missed, in order", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const tag = `burrow-sse-kill-${randomBytes(4).toString("hex")}`;
    const a = await startRedisServer({ prefix, name: `${tag}-a` });
    // A slow retry, so that b stays cut while a publishes.
    const b = await startRedisServer({ prefix, name: `${tag}-b`, retryMs: 300 });
    const onA = recordEvents(`${a.url}/events?topics=x,y`, ["x", "y"]);
    const onB = rawClient(b.port, "/events?topics=x,y");
    await Promise.all([onA.opened, onB.ready]);
    await Promise.all([listening(a, 2), listening(b, 2)]);
    const total = 90;
    let published = 0;
    const publish = async (n: number) => {
      for (const end = published + n; published < end; published++) {
        await a.publish(published % 2 ? "x" : "y", String(published));
      }
    };
    await publish(30);
    // Both of b's connections (publisher and subscriber) are killed by Redis.
    expect(await killConnections(`${tag}-b`)).toBe(2);
    await state(b, "down");
    await publish(30);
    await listening(b, 2);
    await publish(30);
    const expected = Array.from({ length: total }, (_, i) => String(i));
    await waitFor(
      () => onB.events.length >= total,
      `${total} events on b (have ${onB.events.length})`,
    );
    expect((await onA.waitForCount(total)).map((e) => e.data)).toEqual(expected);
    expect(onB.events.map((e) => e.data)).toEqual(expected);
    expect(onB.events.map((e) => e.id)).toEqual(onA.events.map((e) => e.id));
    onA.close();
    onB.close();
    const stats = (await b.stats()).backplane;
    // Each event came through Redis exactly once: live, or recovered from the streams.
    expect(stats).toMatchObject({ state: "ready", errors: 1, gaps: 0, received: total });
    expect(b.stderr).toContain("[error] sse-redis: Redis at");
    expect(b.stderr).toContain("[info] sse-redis: reconnected to Redis");
    expect(a.stderr).toBe("");
  });

  itOnPrivateRedis(
    "Redis crashes and restarts empty: local delivery goes on, both processes reconnect, old ids resync",
    async (redis) => {
      const prefix = uniquePrefix();
      const a = await startRedisServer({ prefix, redisUrl: redis.url });
      const b = await startRedisServer({ prefix, redisUrl: redis.url });
      const engine = { name: "sse-redis", engine: "Redis", url: redis.url };
      await checkOutageMidStream(
        [a, b],
        { ...engine, start: redis.start, stop: redis.kill },
        false,
      );
    },
  );

  itOnPrivateRedis(
    "Redis hangs (SIGSTOP) under a flood of 1 KB publishes: local clients keep receiving, the state goes down, memory stays bounded, and all recovers after SIGCONT",
    async (redis) => {
      const prefix = uniquePrefix();
      const maxPending = 500;
      const a = await startRedisServer({
        prefix,
        redisUrl: redis.url,
        timeoutMs: 1000,
        maxPending,
        bufferSize: 1000,
      });
      const b = await startRedisServer({ prefix, redisUrl: redis.url, timeoutMs: 1000 });
      const onA = rawClient(a.port, "/events?topics=x");
      const onB = rawClient(b.port, "/events?topics=x");
      await Promise.all([onA.ready, onB.ready]);
      await Promise.all([listening(a, 1), listening(b, 1)]);
      // About 5000 events a second, published by a.
      await a.flood("x", 50, 1000);
      // Through Redis (with ids), on both processes.
      await waitFor(
        () => onA.events.filter((event) => event.id).length >= 2000 && onB.events.length >= 2000,
        "2000 events through Redis on a and b",
      );
      const baseline = (await a.stats(true)).heapUsed;

      await redis.pause();
      // While Redis hangs: the heap (after a GC) and what a holds for Redis, sampled.
      const start = await a.stats();
      const received = onA.events.length;
      let peak = 0;
      let mostPending = 0;
      await waitFor(
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          const stats = await a.stats(true);
          peak = Math.max(peak, stats.heapUsed);
          mostPending = Math.max(
            mostPending,
            Number(stats.backplane.pending ?? Number.POSITIVE_INFINITY),
          );
          return stats.published >= start.published + 10_000;
        },
        "10 000 more events published on a while Redis hangs",
        60_000,
      );
      expect(peak - baseline).toBeLessThan(16 * 1024 * 1024);
      // Ten times maxPending at most (a burst's room while Redis answers), then maxPending once silent.
      expect(mostPending).toBeLessThanOrEqual(maxPending * BURST_FACTOR);
      await Promise.all([state(a, "down"), state(b, "down")]);
      expect(a.stderr).toContain(
        `[error] sse-redis: Redis at ${redis.url} is unreachable (no answer for 1000 ms`,
      );
      // a's clients got every one of them, without an id: delivered here only.
      await waitFor(
        () => onA.events.length >= received + 10_000,
        `10 000 more events on a's client (have ${onA.events.length - received})`,
      );
      expect(onA.events.slice(-1000).every((event) => event.id === undefined)).toBe(true);
      const during = (await a.stats()).backplane;
      expect(during.timeouts).toBeGreaterThanOrEqual(1);
      expect(during.localOnly + Number(during.overflow)).toBeGreaterThanOrEqual(
        10_000 - maxPending,
      );

      await redis.resume();
      await Promise.all([listening(a, 1), listening(b, 1)]);
      await a.stopFlood();
      expect(a.stderr).toContain(`[info] sse-redis: reconnected to Redis at ${redis.url}`);
      await a.publish("x", "after");
      await waitFor(
        () => [onA, onB].every((client) => client.events.some((e) => e.data === "after")),
        "the event published after SIGCONT on both processes",
      );
      for (const client of [onA, onB]) {
        expect(client.events.find((e) => e.data === "after")?.id).toMatch(/^[0-9a-z]+-\d+$/);
        client.close();
      }
      expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
    },
  );

  itOnPrivateRedis(
    "while Redis hangs, publishes past ten times maxPending (the room of a burst before the silence is seen) are delivered at once and counted; a replay and latest() settle as misses; close() does not wait for it",
    async (redis) => {
      const logs: string[] = [];
      const backplane = redisBackplane({
        url: redis.url,
        prefix: uniquePrefix(),
        timeoutMs: 1000,
        maxPending: 100,
        logger: { error: (m) => logs.push(m), info: (m) => logs.push(m) },
      });
      const broker = new EventBroker({
        historySize: 10,
        bufferSize: 2000,
        resumeMissEvent: "resync",
        backplane,
      });
      cleanups.push(async () => {
        broker.close();
        await backplane.close();
      });
      const client = broker.subscribe("x");
      await waitFor(() => backplane.stats().state === "ready" && backplane.stats().topics === 1);
      broker.publish("x", { data: "before" });
      const [before] = await take(client, 1);

      await redis.pause();
      for (let i = 0; i < 1200; i++) broker.publish("x", { data: String(i) });
      // 1000 wait for Redis's answer; the 200 past ten times maxPending are delivered here at once.
      expect(backplane.stats()).toMatchObject({ state: "ready", pending: 1000, overflow: 200 });
      expect((await take(client, 200)).map((e) => e.data)).toEqual(range(1000, 1200));
      expect(logs.filter((m) => m.includes("maxPending"))).toHaveLength(1);
      const resumed = broker.subscribe("x", { lastEventId: before!.id! });
      const latest = backplane.latest();
      expect(await take(resumed, 1)).toEqual([{ type: "resync" }]);
      expect(await latest).toBeUndefined();
      await waitFor(() => backplane.stats().state === "down", "the hang to be noticed");
      // Once it is, the 1000 that waited are delivered here too, and nothing is held any more.
      expect((await take(client, 1000)).map((e) => e.data)).toEqual(range(0, 1000));
      expect(backplane.stats()).toMatchObject({ pending: 0, overflow: 200, localOnly: 1000 });
      expect(backplane.stats().timeouts).toBeGreaterThanOrEqual(1);
      expect(logs).toContainEqual(
        expect.stringContaining(`Redis at ${redis.url} is unreachable (no answer for 1000 ms`),
      );

      await redis.resume();
      await waitFor(() => backplane.stats().state === "ready", "the backplane to recover");
      const cursor = await backplane.latest();
      expect(cursor?.split("-")[0]).toBe(before!.id!.split("-")[0]);
      broker.publish("x", { data: "after" });
      // Whatever Redis ran of the 1000 after SIGCONT is not delivered here a second time.
      expect(await take(client, 1)).toEqual([
        { type: "x", data: "after", id: expect.stringMatching(/^[0-9a-z]+-\d+$/) },
      ]);

      await redis.pause();
      await backplane.close();
      expect(backplane.stats().state).toBe("closed");
    },
  );

  itOnPrivateRedis(
    "observers see the link's state changes (ready, down, ready across a restart) and one round trip per own publish",
    async (redis) => {
      const prefix = uniquePrefix();
      const backplane = redisBackplane({ url: redis.url, prefix, logger: false });
      const broker = new EventBroker({ historySize: 10, backplane });
      cleanups.push(async () => {
        broker.close();
        await backplane.close();
      });
      const states: string[] = [];
      const roundTrips: number[] = [];
      broker.observe({
        backplane: (report) => {
          if (report.kind === "state") states.push(`${report.previous}->${report.state}`);
          else roundTrips.push(report.seconds);
        },
      });
      const client = broker.subscribe("x");
      // Subscribed is not yet ready (the catch-up reads the streams in between): publishes would stay here.
      await backplane.ready();
      await waitFor(() => backplane.stats().topics === 1, "the backplane to listen to x");
      for (const data of ["1", "2", "3"]) broker.publish("x", { data });
      await take(client, 3);
      await waitFor(() => roundTrips.length === 3, "3 round trips");
      // Another broker's publish (as from another process) is no round trip of this one.
      const otherBackplane = redisBackplane({ url: redis.url, prefix, logger: false });
      const other = new EventBroker({ historySize: 10, backplane: otherBackplane });
      cleanups.push(async () => {
        other.close();
        await otherBackplane.close();
      });
      await waitFor(() => otherBackplane.stats().state === "ready", "the other backplane");
      other.publish("x", { data: "from the other" });
      expect((await take(client, 1)).map((e) => e.data)).toEqual(["from the other"]);
      expect(roundTrips).toHaveLength(3);
      await otherBackplane.close();

      await redis.kill();
      await waitFor(() => backplane.stats().state === "down", "the backplane to be down");
      // Delivered here only: no round trip.
      broker.publish("x", { data: "local" });
      await take(client, 1);
      await redis.start();
      await waitFor(() => backplane.stats().state === "ready", "the backplane to be back");
      await waitFor(() => backplane.stats().topics === 1, "x to be subscribed again");
      broker.publish("x", { data: "after" });
      await take(client, 1);
      await waitFor(() => roundTrips.length === 4, "the 4th round trip");
      expect(states).toEqual(["connecting->ready", "ready->down", "down->ready"]);
      expect(roundTrips.every((seconds) => Number.isFinite(seconds) && seconds >= 0)).toBe(true);
      expect(backplane.stats().published).toBe(4);
      await backplane.close();
      expect(states.at(-1)).toBe("ready->closed");
    },
  );

  itOnPrivateRedis(
    "resume attack: 50 clients ask for the whole history of 8 topics and leave; Redis reads it for at most maxReplays of them",
    async (redis) => {
      const admin = new Redis(redis.url);
      admin.on("error", () => {});
      cleanups.unshift(async () => admin.disconnect());
      const topics = Array.from({ length: 8 }, (_, i) => `t${i}`).join(",");
      // A long timeout: the server must not give up on the frozen Redis during the attack.
      const a = await startRedisServer({
        prefix: uniquePrefix(),
        redisUrl: redis.url,
        history: 200,
        bufferSize: 2000,
        timeoutMs: 30_000,
      });
      const watcher = rawClient(a.port, `/events?topics=${topics}`);
      await watcher.ready;
      await listening(a, 8);
      // 200 events of 1 KB per topic: the whole history, nothing evicted.
      await a.flood(topics, 100, 1000, 1600);
      await waitFor(() => watcher.events.length >= 1600, "the history to be written");
      const start = `${watcher.events[0]!.id!.split("-")[0]}-0`;
      await admin.config("RESETSTAT");

      // Frozen, Redis cannot answer: the replays the server starts stay in flight.
      await redis.pause();
      const attackers = Array.from({ length: 50 }, () =>
        rawClient(a.port, `/events?topics=${topics}`, { headers: { "Last-Event-ID": start } }),
      );
      await Promise.all(attackers.map((attacker) => attacker.ready));
      await waitFor(async () => (await a.stats()).clients === 51, "the 50 attackers on a");
      for (const attacker of attackers) attacker.close();
      await waitFor(async () => (await a.stats()).clients === 1, "the attackers to be gone");
      await redis.resume();
      // Answered after whatever a sent Redis before it.
      await a.publish("t0", "marker");
      await waitFor(() => watcher.events.at(-1)?.data === "marker", "the marker");

      const stats = (await admin.info("commandstats")) as string;
      const xrange = Number(/cmdstat_xrange:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      // At most the first page of maxReplays (4) replays, each at most one XRANGE per topic.
      expect(xrange).toBeLessThanOrEqual(4 * 8);
      expect((await a.stats()).backplane).toMatchObject({ state: "ready", replays: 0 });
      expect((await a.stats()).backplane.replaysSkipped).toBeGreaterThanOrEqual(46);
      watcher.close();
    },
  );
});
