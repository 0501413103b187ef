/**
 * The guarantees every backplane (Redis, PostgreSQL) gives across
 * processes, run against each with three server child processes (see
 * `backplane-server.ts`) on one topic space: one global order, each
 * process's own publishing order, resume on another process with no gap and
 * no duplicate, cursors that resume anywhere, and ids from elsewhere that
 * resume nothing. What only one engine does stays in its package.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { killServers, listening, type ServerProcess } from "./backplane-server.js";
import { rawClient, recordEvents } from "./clients.js";
import { waitFor } from "./waits.js";

/** How the suite runs against one backplane. */
export interface BackplaneProcessesHarness {
  /** `describe` that skips (or fails under CI) without the engine. */
  describe(name: string, body: () => void): void;
  /** The engine's name in test titles ("Redis", "PostgreSQL"). */
  engine: string;
  /** A topic space (prefix) no other test uses. */
  uniquePrefix(): string;
  /** Starts a server process on `prefix`, on the shared engine. */
  start(prefix: string): Promise<ServerProcess>;
  /** Removes what the backplane stored under `prefix`. */
  drop(prefix: string): Promise<void>;
}

/** The sequence number of a global id `<epoch>-<seq>`. */
function seqOf(id: string | undefined): number {
  return Number(id?.split("-")[1]);
}

/**
 * Runs the multi-process cases against `harness`: three server processes
 * started at once on a fresh prefix, left without clients after each test.
 */
export function describeBackplaneProcesses(harness: BackplaneProcessesHarness): void {
  const prefix = harness.uniquePrefix();
  let servers: ServerProcess[] = [];
  const three = () => servers as [ServerProcess, ServerProcess, ServerProcess];

  harness.describe(`several server processes on one ${harness.engine}`, () => {
    beforeAll(async () => {
      // Started at once on a fresh prefix: each sets up its storage, none fails.
      servers = await Promise.all([0, 1, 2].map(() => harness.start(prefix)));
      for (const server of servers) await listening(server, 0);
    });

    afterEach(async () => {
      // Each test leaves the servers as it found them: no client.
      for (const server of servers) {
        await waitFor(async () => (await server.stats()).clients === 0, "clients to leave");
      }
    });

    afterAll(async () => {
      const codes = await Promise.all(servers.map((server) => server.stop()));
      killServers();
      await harness.drop(prefix);
      expect(codes).toEqual([0, 0, 0]);
    });

    it("delivers every event, published concurrently on any process, to clients of every process in one order", async () => {
      const clients = servers.map((server) =>
        recordEvents(`${server.url}/events?topics=a,b`, ["a", "b"]),
      );
      await Promise.all(clients.map((client) => client.opened));
      for (const server of servers) await listening(server, 2);
      const total = 150;
      // Published concurrently from the three processes, so that they interleave.
      await Promise.all(
        Array.from({ length: total }, (_, i) =>
          servers[i % 3]!.publish(i % 2 ? "a" : "b", `p${i % 3}-${i}`),
        ),
      );
      const received = await Promise.all(clients.map((client) => client.waitForCount(total)));
      for (const client of clients) client.close();
      const [first, ...others] = received.map((events) =>
        events.map((e) => `${e.event} ${e.data} ${e.id}`),
      );
      for (const other of others) expect(other).toEqual(first);
      expect(new Set(received[0]!.map((e) => e.data))).toEqual(
        new Set(Array.from({ length: total }, (_, i) => `p${i % 3}-${i}`)),
      );
      const seqs = received[0]!.map((e) => seqOf(e.id));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      // Each event on the topic it was published on.
      const topicOf = new Map(received[0]!.map((e) => [e.data, e.event]));
      for (let i = 0; i < total; i++) {
        expect(topicOf.get(`p${i % 3}-${i}`)).toBe(i % 2 ? "a" : "b");
      }
    });

    it("keeps each process's own publishing order while two processes publish bursts at once", async () => {
      const [a, b, c] = three();
      const client = recordEvents(`${c.url}/events?topics=a,b`, ["a", "b"]);
      await client.opened;
      await listening(c, 2);
      // 20 publishes per 10 ms from each of a (on topic a) and b (on topic b).
      await Promise.all([a.flood("a", 20, 16, 200), b.flood("b", 20, 16, 200)]);
      const events = await client.waitForCount(400);
      client.close();
      const numbers = (topic: string) =>
        events.filter((e) => e.event === topic).map((e) => Number(e.data.split(" ")[0]));
      const inOrder = Array.from({ length: 200 }, (_, i) => i);
      expect(numbers("a")).toEqual(inOrder);
      expect(numbers("b")).toEqual(inOrder);
      const seqs = events.map((e) => seqOf(e.id));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      for (const server of [a, b]) expect(await server.stopFlood()).toBe(200);
    });

    it("a client that leaves one process resumes on another exactly where it stopped, while events keep coming", async () => {
      const [a, b, c] = three();
      const first = recordEvents(`${a.url}/events?topics=a,b`, ["a", "b"]);
      await first.opened;
      await listening(a, 2);
      for (let i = 0; i < 10; i++) await c.publish(i % 2 ? "a" : "b", String(i));
      const seen = await first.waitForCount(10);
      first.close();
      const lastId = seen[9]!.id!;
      for (let i = 10; i < 20; i++) await c.publish(i % 2 ? "a" : "b", String(i));
      const resumedBefore = (await b.stats()).resumed;

      // Reconnects to b while c keeps publishing: no gap, no duplicate at the seam.
      const publishing = (async () => {
        for (let i = 20; i < 60; i++) await c.publish(i % 2 ? "a" : "b", String(i));
      })();
      const back = rawClient(b.port, "/events?topics=b,a", {
        headers: { "Last-Event-ID": lastId },
      });
      await publishing;
      await waitFor(() => back.events.length >= 50, `50 events on b (have ${back.events.length})`);
      await c.publish("a", "60");
      await waitFor(() => back.events.length >= 51, "the live event after the resume");
      back.close();
      expect(back.events.map((e) => Number(e.data))).toEqual(
        Array.from({ length: 51 }, (_, i) => i + 10),
      );
      expect((await b.stats()).resumed).toBe(resumedBefore + 1);
    });

    it("a page rendered on one process with broker.cursor() gets, on another, everything published after rendering", async () => {
      const [a, b, c] = three();
      const published = Number((await c.stats()).backplane.published);
      await c.publish("a", "before");
      // publish() returns before the engine ordered the event: the page is rendered after that.
      await waitFor(
        async () => Number((await c.stats()).backplane.published) > published,
        "c's event to be ordered",
      );
      const cursor = await a.cursor();
      expect(cursor).toMatch(/^[0-9a-z]+-\d+$/);
      await c.publish("a", "between rendering and connecting");
      const client = rawClient(b.port, `/events?topics=a&lastEventId=${cursor}`);
      await waitFor(() => client.events.length >= 1, "the event published after rendering");
      await listening(b, 1);
      await c.publish("a", "live");
      await waitFor(() => client.events.length >= 2, "the live event");
      client.close();
      expect(client.events.map((e) => e.data)).toEqual([
        "between rendering and connecting",
        "live",
      ]);
    });

    it("a cursor from latest() (broker.cursor()) on one process resumes on another with exactly the events published after it", async () => {
      const [a, b, c] = three();
      const cursor = await a.cursor();
      expect(cursor).toMatch(/^[0-9a-z]+-\d+$/);
      for (const [topic, data] of [
        ["a", "1"],
        ["b", "2"],
        ["a", "3"],
      ] as const) {
        await c.publish(topic, data);
      }
      const back = rawClient(b.port, "/events?topics=a", {
        headers: { "Last-Event-ID": cursor! },
      });
      await waitFor(() => back.events.length >= 2, "the replay on b");
      await c.publish("a", "live");
      await waitFor(() => back.events.length >= 3, "the live event after the replay");
      back.close();
      expect(back.events.map((e) => e.data)).toEqual(["1", "3", "live"]);
    });

    it(`an id from another ${harness.engine} or prefix resumes nothing: the client is told to resync, then gets live events`, async () => {
      const b = servers[1]!;
      const client = rawClient(b.port, "/events?topics=a", {
        headers: { "Last-Event-ID": "zzzzzzzz-12" },
      });
      await client.ready;
      await waitFor(async () => (await b.stats()).clients === 1, "the client on b");
      await listening(b, 1);
      await servers[2]!.publish("a", "after");
      await waitFor(() => client.events.length >= 2, "the resync signal and the live event");
      client.close();
      expect(client.events.map((e) => e.event)).toEqual(["resync", "a"]);
      expect(client.events[1]?.data).toBe("after");
    });
  });
}
