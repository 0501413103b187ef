/**
 * Checks a backplane package's `examples/cluster.mjs` (node:cluster: one
 * primary, K workers on one port and one backplane), run as a user would run
 * it: `eventsource` clients on the shared port, a publisher on the same
 * backplane publishing throughout, a rolling restart (SIGHUP: each worker
 * replaced in turn, the old one shut down gracefully) while it publishes;
 * every client ends with every event exactly once and in order, having
 * reconnected at least once; SIGTERM stops every process, clients still connected.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, expect, it } from "vitest";
import { type RecordingEventSource, recordEvents } from "./clients.js";
import { startExample } from "./quick-start-suite.js";
import { waitFor } from "./waits.js";

/** A publisher on the example's backplane, in the test's process. */
export interface ClusterPublisher {
  /** Publishes `data` to the example's topic (`notes`). */
  publish(data: string): void;
  close(): Promise<void>;
}

/** How a backplane package's cluster example is run. */
export interface ClusterExample {
  /** The package's root, as a file URL (`new URL("..", import.meta.url)`). */
  root: URL;
  /** What the example reads from its environment (its engine's URL, a prefix of its own). */
  env: Record<string, string>;
  /** `describe`, skipped without the engine (e.g. `describeRedis`). */
  describe(name: string, body: () => void): void;
  /** A publisher on the same backplane and prefix, ready to publish. */
  publisher(): Promise<ClusterPublisher>;
  /** Deletes what the example stored (its prefix's keys or tables). */
  cleanup(): Promise<void>;
  /** A Markdown page that shows the example verbatim (docs/cluster.md), if one does. */
  shownIn?: URL;
}

const WORKERS = 2;
const CLIENTS = 24;

/** Runs the cluster example's rolling-restart check for a backplane package. */
export function describeClusterExample(example: ClusterExample): void {
  const file = `${fileURLToPath(example.root)}examples/cluster.mjs`;
  const children: ChildProcess[] = [];
  const clients: RecordingEventSource[] = [];

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  if (example.shownIn !== undefined) {
    const page = example.shownIn;
    it(`cluster.mjs appears in ${fileURLToPath(page).split("/").slice(-2).join("/")} verbatim`, () => {
      expect(readFileSync(page, "utf8")).toContain(readFileSync(file, "utf8").trimEnd());
    });
  }

  example.describe("examples/cluster.mjs: workers on one port and one backplane", () => {
    afterAll(() => example.cleanup());

    it("a rolling restart of every worker while events are published: each client gets every event once and in order, and SIGTERM stops every process", async () => {
      const { child, url } = await startExample(
        file,
        {
          ...example.env,
          WORKERS: String(WORKERS),
          RECONNECT_WINDOW_MS: "500",
        },
        60_000,
      );
      children.push(child);
      let out = "";
      child.stdout?.on("data", (chunk) => {
        out += chunk;
      });
      for (let i = 0; i < CLIENTS; i++) clients.push(recordEvents(`${url}/events`, ["notes"]));
      await Promise.all(clients.map((c) => c.opened));

      const publisher = await example.publisher();
      let published = 0;
      const publishOne = () => publisher.publish(`n=${++published}`);
      const ticker = setInterval(publishOne, 20);
      try {
        // Some events before the restart, every client on one of the first workers.
        await waitFor(() => clients.every((c) => c.events.length >= 5), "5 events on every client");
        child.kill("SIGHUP");
        await waitFor(() => out.includes("rolling restart done"), "the rolling restart", 60_000);
        // Every client was on a worker that stopped: each comes back, and keeps receiving.
        const reached = published;
        await waitFor(
          () => clients.every((c) => c.events.length >= reached),
          `every client past event ${reached}`,
          30_000,
        );
      } finally {
        clearInterval(ticker);
      }
      await waitFor(
        () => clients.every((c) => c.events.length >= published),
        `all ${published} events on every client`,
        30_000,
      );
      await publisher.close();

      expect(out.match(/worker \d+ replaced/g)).toHaveLength(WORKERS);
      const expected = Array.from({ length: published }, (_, i) => `n=${i + 1}`);
      for (const client of clients) {
        expect(client.events.map((e) => e.data)).toEqual(expected);
        expect(client.errors).toBeGreaterThanOrEqual(1); // it was disconnected, and resumed
      }

      // SIGTERM with the clients still connected, closed after the exit: closed first, their
      // aborted fetches kept the sockets open until the clients' keep-alive timeout (about
      // 4 s), which the workers' exit waited for.
      child.kill("SIGTERM");
      expect((await once(child, "exit"))[0]).toBe(0);
      for (const client of clients.splice(0)) client.close();
    }, 180_000);
  });
}
