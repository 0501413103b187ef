/**
 * Presence across processes, run against each backplane (Redis,
 * PostgreSQL) with server child processes: one answer on every process,
 * one event per change whichever process it happens on, a killed process's
 * members announced as left, and no false leaves or joins through an
 * outage of the engine (a private server frozen longer than the TTL), nor
 * when a process comes back after the others.
 */
import { afterEach, expect, it } from "vitest";
import {
  type BackplanePresenceHarness,
  PRESENCE_TTL,
  type PresenceProcess,
  type PresenceTools,
  type PrivateEngine,
} from "./backplane-presence-harness.js";
import { recordEvents } from "./clients.js";
import { waitFor } from "./waits.js";

export type {
  BackplanePresenceHarness,
  PresenceProcess,
  PresenceTools,
  PrivateEngine,
} from "./backplane-presence-harness.js";
export { PRESENCE_TTL } from "./backplane-presence-harness.js";

const TTL = PRESENCE_TTL;
const TOPIC = "room";

/**
 * Runs the presence cases against `harness` (named `name` in the output);
 * `more` adds the backplane's own cases, in the outage block, with the suite's helpers.
 */
export function describeBackplanePresence<E extends PrivateEngine>(
  name: string,
  harness: BackplanePresenceHarness<E>,
  more?: (tools: PresenceTools<E>) => void,
): void {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await harness.cleanup();
  });

  /** A stream of `user` on `topic` of `server`. */
  function join(server: PresenceProcess, user: string, topic = TOPIC) {
    const client = recordEvents(`${server.url}/events?topics=${topic}&user=${user}`, []);
    cleanups.push(() => client.close());
    return client;
  }

  /** A page watching the presence of `topic` on `server`: every rendered change. */
  async function watchPresence(server: PresenceProcess, topic = TOPIC) {
    const watcher = recordEvents(`${server.url}/events?topics=presence:${topic}`, [
      `presence:${topic}`,
    ]);
    cleanups.push(() => watcher.close());
    await watcher.opened;
    return watcher;
  }

  async function membersEverywhere(
    servers: PresenceProcess[],
    expected: { id: string; connections: number }[],
  ): Promise<void> {
    await waitFor(
      async () => {
        for (const server of servers) {
          if (JSON.stringify(await server.members(TOPIC)) !== JSON.stringify(expected)) {
            return false;
          }
        }
        return true;
      },
      `members ${JSON.stringify(expected)} on every process`,
    );
  }

  async function ready(servers: PresenceProcess[]): Promise<void> {
    for (const server of servers) {
      await waitFor(async () => (await server.stats()).backplane.state === "ready", "ready");
    }
  }

  async function twoServers(url?: string): Promise<[PresenceProcess, PresenceProcess]> {
    const start = harness.space({ ttlMs: TTL, url });
    const servers = await Promise.all([start(), start()]);
    await ready(servers);
    return servers as [PresenceProcess, PresenceProcess];
  }

  const sweeps = async (server: PresenceProcess) =>
    Number((await server.stats()).backplane.presenceSweeps);

  /** Waits until both processes ran two sweeps after now (so a false leave would have been announced). */
  async function sweptAgain(servers: PresenceProcess[]): Promise<void> {
    const before = await Promise.all(servers.map(sweeps));
    await waitFor(async () => {
      for (const [i, server] of servers.entries()) {
        if ((await server.stats()).backplane.state !== "ready") return false;
        if ((await sweeps(server)) < before[i]! + 2) return false;
      }
      return true;
    }, "a sweep on every process after reconnecting");
  }

  /** Runs `body` against a private engine server of its own (skipped when none can run). */
  function onPrivateEngine(title: string, body: (engine: E) => Promise<void>): void {
    it.skipIf(harness.privateUnavailable !== undefined)(title, async () => {
      await body(await harness.privateEngine());
    });
  }

  harness.describe(`${name}: presence across processes`, () => {
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
      expect(await sweeps(b)).toBeGreaterThan(0);
    });
  });

  harness.describe(`${name}: presence through an outage`, () => {
    for (const outage of harness.outages) {
      onPrivateEngine(
        `${outage.name} (longer than the TTL) causes no false leave nor join`,
        async (engine) => {
          const [a, b] = await twoServers(engine.url);
          const watcher = await watchPresence(b);
          await join(a, "alice").opened;
          // Joins on two processes have no order until the engine orders them: let alice's land first.
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
          await outage.cut(engine);
          for (const server of [a, b]) {
            await waitFor(async () => (await server.stats()).backplane.state !== "ready", "down");
          }
          // Longer than the TTL: every expiry passes during the outage.
          await new Promise((resolve) => setTimeout(resolve, TTL * 3));
          await outage.restore(engine);
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
    }

    onPrivateEngine(
      "a process that comes back late is not swept: the others wait a TTL before sweeping",
      async (engine) => {
        // A longer TTL here: the late process must renew within one TTL of the first one's return.
        const start = harness.space({ ttlMs: 4000, url: engine.url });
        const [a, b] = await Promise.all([start(), start()]);
        await ready([a, b]);
        const watcher = await watchPresence(a);
        await join(a, "alice").opened;
        // Joins on two processes have no order until the engine orders them: let alice's land first.
        await watcher.waitForCount(1);
        await join(b, "bob").opened;
        await watcher.waitForCount(2);
        // b is frozen first, so that nothing of it waits in the engine's buffers to renew it on resume.
        b.child.kill("SIGSTOP");
        cleanups.push(() => b.child.kill("SIGCONT"));
        await engine.pause();
        await waitFor(async () => (await a.stats()).backplane.state !== "ready", "a's link down");
        await new Promise((resolve) => setTimeout(resolve, 4000 * 2)); // every expiry passes
        await engine.resume();
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

    more?.({ join, watchPresence, membersEverywhere, twoServers, sweptAgain, onPrivateEngine });
  });
}
