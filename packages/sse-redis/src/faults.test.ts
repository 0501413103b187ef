// Redis faults, with server child processes: unreachable at start, connections
// killed mid-stream (CLIENT KILL on the real Redis), and a private
// redis-server crashed and restarted. No crash, a clear logged error, local
// delivery goes on, reconnection by itself, state in stats().
import { randomBytes } from "node:crypto";
import { rawClient, recordEvents, waitFor } from "@burrow/test-utils";
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
  type ServerProcess,
  startServer,
  uniquePrefix,
} from "./fixtures/harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  killServers();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const noRedisServer = !hasRedisServer();
/** The test's name, saying why when it is skipped. */
const needsRedisServer = (name: string) =>
  noRedisServer ? `${name} [skipped: no redis-server binary on PATH to crash and restart]` : name;

async function state(server: ServerProcess, wanted: string): Promise<void> {
  await waitFor(
    async () => (await server.stats()).backplane.state === wanted,
    `${server.url} to be ${wanted}`,
  );
}

async function listening(server: ServerProcess, topics: number): Promise<void> {
  await waitFor(async () => {
    const { backplane } = await server.stats();
    return backplane.state === "ready" && backplane.topics >= topics;
  }, `${server.url} to listen to ${topics} topics`);
}

async function startPrivateRedis(): Promise<PrivateRedis> {
  const redis = privateRedis(await freePort());
  cleanups.push(() => redis.kill());
  return redis;
}

describeRedis("Redis faults", () => {
  it("Redis unreachable at start: the server runs, says so, delivers locally, and connects once Redis is up", async () => {
    const port = await freePort();
    const server = await startServer({
      prefix: uniquePrefix(),
      redisUrl: `redis://127.0.0.1:${port}`,
    });
    await state(server, "down");
    expect(server.stderr).toContain(
      `[error] sse-redis: Redis at redis://127.0.0.1:${port} is unreachable (connect ECONNREFUSED`,
    );
    // Once per state change, not once per retry.
    expect(server.stderr.match(/\[error\]/g)).toHaveLength(1);
    const client = recordEvents(`${server.url}/events?topics=x`, ["x"]);
    await client.opened;
    expect(await server.publish("x", "local")).toBe(1);
    const [event] = await client.waitForCount(1);
    expect(event).toMatchObject({ data: "local", id: "" });
    expect((await server.stats()).backplane).toMatchObject({ state: "down", localOnly: 1 });
    if (noRedisServer) return client.close();

    const redis = privateRedis(port);
    cleanups.push(() => redis.kill());
    await redis.start();
    await listening(server, 1);
    expect(server.stderr).toContain(
      "[info] sse-redis: reconnected to Redis at redis://127.0.0.1:" +
        `${port}; 1 event(s) published here meanwhile reached this process's clients only`,
    );
    await server.publish("x", "through redis");
    const events = await client.waitForCount(2);
    expect(events[1]).toMatchObject({ data: "through redis", id: expect.stringMatching(/-1$/) });
    client.close();
    expect(server.child.exitCode).toBe(null);
  });

  it("connections killed mid-stream (CLIENT KILL): the process reconnects and recovers what it missed, in order", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const tag = `burrow-sse-kill-${randomBytes(4).toString("hex")}`;
    const a = await startServer({ prefix, name: `${tag}-a` });
    // A slow retry, so that b stays cut while a publishes.
    const b = await startServer({ prefix, name: `${tag}-b`, retryMs: 300 });
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

  it.skipIf(noRedisServer)(
    needsRedisServer(
      "Redis crashes and restarts empty: local delivery goes on, both processes reconnect, old ids resync",
    ),
    async () => {
      const redis = await startPrivateRedis();
      await redis.start();
      const prefix = uniquePrefix();
      const a = await startServer({ prefix, redisUrl: redis.url });
      const b = await startServer({ prefix, redisUrl: redis.url });
      const onA = recordEvents(`${a.url}/events?topics=x`, ["x"]);
      const onB = recordEvents(`${b.url}/events?topics=x`, ["x"]);
      await Promise.all([onA.opened, onB.opened]);
      await Promise.all([listening(a, 1), listening(b, 1)]);
      await a.publish("x", "before");
      const [before] = await onB.waitForCount(1);

      await redis.kill();
      await Promise.all([state(a, "down"), state(b, "down")]);
      // During the outage each process still serves its own publishes.
      expect(await b.publish("x", "b during")).toBe(1);
      await onB.waitForCount(2);
      expect(onA.events.map((e) => e.data)).toEqual(["before"]);

      await redis.start();
      await Promise.all([listening(a, 1), listening(b, 1)]);
      await a.publish("x", "after");
      await onA.waitForCount(2);
      await onB.waitForCount(3);
      expect(onA.events.map((e) => e.data)).toEqual(["before", "after"]);
      expect(onB.events.map((e) => e.data)).toEqual(["before", "b during", "after"]);
      // Redis started empty: a new epoch, so the old id is not mistaken for a new one.
      const lastSeen = before!.id ?? "";
      expect(onA.events[1]?.id?.split("-")[0]).not.toBe(lastSeen.split("-")[0]);
      const late = rawClient(b.port, "/events?topics=x", {
        headers: { "Last-Event-ID": lastSeen },
      });
      await waitFor(() => late.events.length >= 1, "the resync signal");
      expect(late.events[0]?.event).toBe("resync");
      late.close();
      onA.close();
      onB.close();
      expect((await b.stats()).backplane).toMatchObject({
        state: "ready",
        errors: 1,
        localOnly: 1,
      });
      expect(b.stderr).toContain("could not be recovered");
      expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
    },
  );
});
