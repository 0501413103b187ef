// Presence across processes on Redis, with server child processes: one answer
// on every process, one event per change whichever process it happens on, a
// killed process's members announced as left, and no false leaves or joins
// through a Redis outage (a private redis-server frozen, or crashed and restarted).
import { recordEvents, waitFor } from "@burrow/test-utils";
import { afterEach, expect, it } from "vitest";
import {
  deleteKeys,
  describeRedis,
  freePort,
  hasRedisServer,
  killServers,
  type PrivateRedis,
  privateRedis,
  type ServerProcess,
  startServer,
  uniquePrefix,
} from "./fixtures/harness.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  killServers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Short, so a dead process is noticed quickly; tests still only wait for state. */
const TTL = 600;
const TOPIC = "room";

/** A stream of `user` on `topic` of `server`. */
function join(server: ServerProcess, user: string, topic = TOPIC) {
  const client = recordEvents(`${server.url}/events?topics=${topic}&user=${user}`, []);
  cleanups.push(() => client.close());
  return client;
}

/** A page watching the presence of `topic` on `server`: every rendered change. */
async function watchPresence(server: ServerProcess, topic = TOPIC) {
  const watcher = recordEvents(`${server.url}/events?topics=presence:${topic}`, [
    `presence:${topic}`,
  ]);
  cleanups.push(() => watcher.close());
  await watcher.opened;
  return watcher;
}

async function membersEverywhere(
  servers: ServerProcess[],
  expected: { id: string; connections: number }[],
): Promise<void> {
  await waitFor(
    async () => {
      for (const server of servers) {
        if (JSON.stringify(await server.members(TOPIC)) !== JSON.stringify(expected)) return false;
      }
      return true;
    },
    `members ${JSON.stringify(expected)} on every process`,
  );
}

async function twoServers(redisUrl?: string): Promise<[ServerProcess, ServerProcess]> {
  const prefix = uniquePrefix();
  if (redisUrl === undefined) cleanups.push(() => deleteKeys(prefix));
  const start = () => startServer({ prefix, redisUrl, presenceTtlMs: TTL, timeoutMs: 300 });
  const servers = await Promise.all([start(), start()]);
  for (const server of servers) {
    await waitFor(async () => (await server.stats()).backplane.state === "ready", "ready");
  }
  return servers as [ServerProcess, ServerProcess];
}

describeRedis("presence across processes", () => {
  it("gives the same members on every process, and publishes each change once", async () => {
    const [a, b] = await twoServers();
    const watcher = await watchPresence(b);
    await join(a, "alice").opened;
    await membersEverywhere([a, b], [{ id: "alice", connections: 1 }]);
    await join(b, "alice").opened; // a second tab, on the other process: no event
    await join(b, "bob").opened;
    await membersEverywhere(
      [a, b],
      [
        { id: "alice", connections: 2 },
        { id: "bob", connections: 1 },
      ],
    );
    await watcher.waitForCount(2);
    expect(watcher.events.map((e) => e.data)).toEqual(["alice1|+alice|-", "alice2,bob1|+bob|-"]);
  });

  it("announces a killed process's members as left (unless elsewhere), within its TTL", async () => {
    const [a, b] = await twoServers();
    const watcher = await watchPresence(b);
    await join(a, "alice").opened;
    await join(a, "carol").opened;
    await join(b, "carol").opened;
    await join(b, "bob").opened;
    await membersEverywhere(
      [a, b],
      [
        { id: "alice", connections: 1 },
        { id: "bob", connections: 1 },
        { id: "carol", connections: 2 },
      ],
    );
    await watcher.waitForCount(3); // alice, carol, bob joined
    a.child.kill("SIGKILL");
    await watcher.waitForCount(4);
    expect(watcher.events[3]?.data).toBe("bob1,carol1|+|-alice");
    await membersEverywhere(
      [b],
      [
        { id: "bob", connections: 1 },
        { id: "carol", connections: 1 },
      ],
    );
    expect((await b.stats()).backplane.presenceSweeps).toBeGreaterThan(0);
  });
});

const noRedisServer = !hasRedisServer();

/** Runs `body` against a private redis-server of its own, started (skipped without the binary). */
function onPrivateRedis(name: string, body: (redis: PrivateRedis) => Promise<void>): void {
  it.skipIf(noRedisServer)(name, async () => {
    const redis = privateRedis(await freePort());
    cleanups.push(() => redis.kill());
    await redis.start();
    await body(redis);
  });
}

/** Waits until both processes ran a sweep after now (so a false leave would have been announced). */
async function sweptAgain(servers: ServerProcess[]): Promise<void> {
  const before = await Promise.all(servers.map(async (s) => (await s.stats()).backplane));
  await waitFor(async () => {
    for (const [i, server] of servers.entries()) {
      const now = (await server.stats()).backplane;
      if (now.state !== "ready" || now.presenceSweeps < before[i]!.presenceSweeps + 2) return false;
    }
    return true;
  }, "a sweep on every process after reconnecting");
}

describeRedis("presence through a Redis outage", () => {
  onPrivateRedis(
    "a frozen Redis (longer than the TTL) causes no false leave nor join",
    async (redis) => {
      const [a, b] = await twoServers(redis.url);
      const watcher = await watchPresence(b);
      await join(a, "alice").opened;
      // Joins on two processes have no order until Redis orders them: let alice's land first.
      await watcher.waitForCount(1);
      await join(b, "bob").opened;
      await membersEverywhere(
        [a, b],
        [
          { id: "alice", connections: 1 },
          { id: "bob", connections: 1 },
        ],
      );
      await watcher.waitForCount(2);
      await redis.pause();
      for (const server of [a, b]) {
        await waitFor(async () => (await server.stats()).backplane.state !== "ready", "link down");
      }
      // Longer than the TTL: every entry's expiry passes while Redis is frozen.
      await new Promise((resolve) => setTimeout(resolve, TTL * 3));
      await redis.resume();
      await sweptAgain([a, b]);
      await membersEverywhere(
        [a, b],
        [
          { id: "alice", connections: 1 },
          { id: "bob", connections: 1 },
        ],
      );
      await join(a, "carol").opened; // a real change: the next event
      await watcher.waitForCount(3);
      expect(watcher.events.map((e) => e.data)).toEqual([
        "alice1|+alice|-",
        "alice1,bob1|+bob|-",
        "alice1,bob1,carol1|+carol|-",
      ]);
    },
  );

  onPrivateRedis(
    "a Redis crash and restart (data lost) announces no leave, and lists converge",
    async (redis) => {
      const [a, b] = await twoServers(redis.url);
      const watcher = await watchPresence(b);
      await join(a, "alice").opened;
      await join(b, "bob").opened;
      await watcher.waitForCount(2);
      await redis.kill();
      for (const server of [a, b]) {
        await waitFor(async () => (await server.stats()).backplane.state !== "ready", "link down");
      }
      await redis.start();
      await sweptAgain([a, b]);
      await membersEverywhere(
        [a, b],
        [
          { id: "alice", connections: 1 },
          { id: "bob", connections: 1 },
        ],
      );
      await join(a, "carol").opened;
      await waitFor(() => watcher.events.some((e) => e.data.includes("+carol")), "carol's join");
      const after = watcher.events.slice(2).map((e) => e.data);
      // Redis forgot everyone: each process announced its own members once at most, never a leave.
      expect(after.filter((data) => !data.endsWith("|-"))).toEqual([]);
      expect(after.length).toBeLessThanOrEqual(3);
      expect(after.at(-1)).toBe("alice1,bob1,carol1|+carol|-");
    },
  );
});

describeRedis("presence after an outage: a process that comes back late", () => {
  onPrivateRedis(
    "is not swept while it reconnects: the others wait a TTL before sweeping",
    async (redis) => {
      const prefix = uniquePrefix();
      // A longer TTL here: the late process must renew within one TTL of the first one's return.
      const start = () =>
        startServer({ prefix, redisUrl: redis.url, presenceTtlMs: 4000, timeoutMs: 300 });
      const [a, b] = await Promise.all([start(), start()]);
      for (const server of [a, b]) {
        await waitFor(async () => (await server.stats()).backplane.state === "ready", "ready");
      }
      const watcher = await watchPresence(a);
      await join(a, "alice").opened;
      // Joins on two processes have no order until Redis orders them: let alice's land first.
      await watcher.waitForCount(1);
      await join(b, "bob").opened;
      await watcher.waitForCount(2);
      // b is frozen first, so that nothing of it waits in Redis's buffers to renew it on resume.
      b.child.kill("SIGSTOP");
      cleanups.push(() => b.child.kill("SIGCONT"));
      await redis.pause();
      await waitFor(async () => (await a.stats()).backplane.state !== "ready", "a's link down");
      await new Promise((resolve) => setTimeout(resolve, 4000 * 2)); // every expiry passes
      await redis.resume();
      await waitFor(async () => (await a.stats()).backplane.state === "ready", "a back");
      b.child.kill("SIGCONT");
      await waitFor(async () => (await b.stats()).backplane.state === "ready", "b back");
      await sweptAgain([a, b]);
      await join(a, "carol").opened;
      await watcher.waitForCount(3);
      expect(watcher.events.map((e) => e.data)).toEqual([
        "alice1|+alice|-",
        "alice1,bob1|+bob|-",
        "alice1,bob1,carol1|+carol|-",
      ]);
    },
  );
});
