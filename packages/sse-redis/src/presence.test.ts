// Presence across processes on Redis, with server child processes: the
// shared suite (test-utils' backplane-presence-suite, also run against
// PostgreSQL), plus what only Redis does: a crash that loses its data.
import { waitFor } from "@burrow/test-utils";
import { describeBackplanePresence } from "@burrow/test-utils/backplane-presence-suite";
import { expect } from "vitest";
import {
  deleteKeys,
  describeRedis,
  freePort,
  hasRedisServer,
  killServers,
  type PrivateRedis,
  privateRedis,
  startRedisServer,
  uniquePrefix,
} from "./fixtures/harness.js";

const cleanups: (() => unknown)[] = [];
async function cleanup(): Promise<void> {
  killServers();
  for (const step of cleanups.splice(0).reverse()) await step();
}

const noRedisServer = !hasRedisServer();

describeBackplanePresence<PrivateRedis>(
  "redis",
  {
    describe: describeRedis,
    privateUnavailable: noRedisServer ? "no redis-server binary on PATH" : undefined,
    space: ({ ttlMs, url }) => {
      const prefix = uniquePrefix();
      if (url === undefined) cleanups.push(() => deleteKeys(prefix));
      return () =>
        startRedisServer({ prefix, redisUrl: url, presenceTtlMs: ttlMs, timeoutMs: 300 });
    },
    privateEngine: async () => {
      const redis = privateRedis(await freePort());
      cleanups.push(() => redis.kill());
      await redis.start();
      return redis;
    },
    outages: [
      {
        name: "a frozen Redis",
        cut: (redis) => redis.pause(),
        restore: (redis) => redis.resume(),
      },
    ],
    cleanup,
  },
  ({ join, watchPresence, membersEverywhere, twoServers, sweptAgain, onPrivateEngine }) => {
    onPrivateEngine(
      "a Redis crash and restart (data lost) announces no leave, and lists converge",
      async (redis) => {
        const [a, b] = await twoServers(redis.url);
        const watcher = await watchPresence(b);
        await join(a, "alice").opened;
        await join(b, "bob").opened;
        await watcher.waitForCount(2);
        await redis.kill();
        for (const server of [a, b]) {
          await waitFor(
            async () => (await server.stats()).backplane.state !== "ready",
            "link down",
          );
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
  },
);
