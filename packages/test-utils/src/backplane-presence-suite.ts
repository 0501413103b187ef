/**
 * Presence across processes, run against each backplane (Redis,
 * PostgreSQL) with server child processes: one answer on every process,
 * one event per change whichever process it happens on, a killed process's
 * members announced as left, and no false leaves or joins through an
 * outage of the engine (a private server frozen longer than the TTL), nor
 * when a process comes back after the others.
 */
import type { ChildProcess } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { recordEvents } from "./clients.js";
import { waitFor } from "./waits.js";

/** What the suite uses of a server process (both backplanes' fixtures fit). */
export interface PresenceProcess {
  child: ChildProcess;
  url: string;
  stats(): Promise<{ backplane: { state: string; [field: string]: unknown } }>;
  /** `broker.members(topic)`: ids and connection counts, sorted by id. */
  members(topic: string): Promise<{ id: string; connections: number }[]>;
}

/** A private engine server of the test's own, started, that it may freeze and thaw. */
export interface PrivateEngine {
  url: string;
  /** Freezes the server (SIGSTOP): sockets stay open, nothing answers. */
  pause(): Promise<void>;
  /** Thaws it (SIGCONT). */
  resume(): Promise<void>;
}

/** How the suite runs against one backplane (`E`: its private engine server). */
export interface BackplanePresenceHarness<E extends PrivateEngine = PrivateEngine> {
  /** `describe` that skips (or fails under CI) without the engine. */
  describe(name: string, body: () => void): void;
  /** Why a private engine server cannot run here, or undefined. */
  privateUnavailable: string | undefined;
  /**
   * A function that starts a server process on a topic space of its own
   * (one per call of `space`), on `url` (the shared engine when undefined),
   * with presence TTL `ttlMs` and a short `timeoutMs`.
   */
  space(options: { ttlMs: number; url?: string }): () => Promise<PresenceProcess>;
  /** Starts a private engine server (stopped and removed by `cleanup`). */
  privateEngine(): Promise<E>;
  /**
   * Outages of a private engine server that keep its data (each run for
   * longer than the TTL): `cut` starts one, `restore` ends it.
   */
  outages: {
    name: string;
    cut(engine: E): Promise<void>;
    restore(engine: E): Promise<void>;
  }[];
  /** After each test: kills server processes and private engines, drops the test's data. */
  cleanup(): Promise<void>;
}

/**
 * Short, so a dead process is noticed quickly; tests still only wait for
 * state. Not shorter: a process whose heartbeat (every TTL / 3) is late by a
 * whole TTL on a loaded machine is swept as dead and then re-announces its
 * members, which the tests of exact events would read as a flap.
 */
export const PRESENCE_TTL = 1500;
const TTL = PRESENCE_TTL;
const TOPIC = "room";

/** The suite's helpers, for a backplane's own cases (see {@link describeBackplanePresence}). */
export interface PresenceTools<E extends PrivateEngine> {
  /** A stream of `user` on the topic `room` of `server` (closed after the test). */
  join(server: PresenceProcess, user: string): ReturnType<typeof recordEvents>;
  /** A page watching the presence of `room` on `server`: every rendered change, opened. */
  watchPresence(server: PresenceProcess): Promise<ReturnType<typeof recordEvents>>;
  /** Waits until every one of `servers` lists exactly `expected` on `room`. */
  membersEverywhere(
    servers: PresenceProcess[],
    expected: { id: string; connections: number }[],
  ): Promise<void>;
  /** Two ready server processes on a new topic space on `url` (TTL {@link PRESENCE_TTL}). */
  twoServers(url?: string): Promise<[PresenceProcess, PresenceProcess]>;
  /** Waits until each of `servers` is ready and ran two sweeps after now. */
  sweptAgain(servers: PresenceProcess[]): Promise<void>;
  /** A test run against a private engine server of its own (skipped when none can run). */
  onPrivateEngine(title: string, body: (engine: E) => Promise<void>): void;
}

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
