// Three server processes (child processes running node:http + sse-core's
// handler + the Redis backplane, from dist) on the real Redis at REDIS_URL:
// one topic space, one order, and resume across processes.
import { rawClient, recordEvents, waitFor } from "@burrow/test-utils";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  deleteKeys,
  describeRedis,
  killServers,
  type ServerProcess,
  startRedisServer,
  uniquePrefix,
} from "./fixtures/harness.js";

const prefix = uniquePrefix();
let servers: ServerProcess[] = [];

/** Waits until each server's backplane is ready and listens to `topics` of its clients. */
async function settled(list: ServerProcess[], topics: number): Promise<void> {
  for (const server of list) {
    await waitFor(async () => {
      const { backplane } = await server.stats();
      return backplane.state === "ready" && backplane.topics >= topics;
    }, `${server.url} to be ready with ${topics} topics`);
  }
}

function seqOf(id: string | undefined): number {
  return Number(id?.split("-")[1]);
}

describeRedis("several server processes on one Redis", () => {
  beforeAll(async () => {
    servers = await Promise.all([0, 1, 2].map(() => startRedisServer({ prefix })));
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
    await deleteKeys(prefix);
    expect(codes).toEqual([0, 0, 0]);
  });

  it("delivers every event, published on any process, to clients of every process in one order", async () => {
    const clients = servers.map((server) =>
      recordEvents(`${server.url}/events?topics=a,b`, ["a", "b"]),
    );
    await Promise.all(clients.map((client) => client.opened));
    await settled(servers, 2);
    const total = 90;
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
    // Each publish on its own process too: the same event order there.
    const topicOf = new Map(received[0]!.map((e) => [e.data, e.event]));
    for (let i = 0; i < total; i++) expect(topicOf.get(`p${i % 3}-${i}`)).toBe(i % 2 ? "a" : "b");
  });

  it("a client that leaves one process resumes on another exactly where it stopped, while events keep coming", async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const first = recordEvents(`${a.url}/events?topics=a,b`, ["a", "b"]);
    await first.opened;
    await settled([a], 2);
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
    const back = rawClient(b.port, "/events?topics=b,a", { headers: { "Last-Event-ID": lastId } });
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

  it("an id from another Redis dataset or prefix resumes nothing: the client is told to resync, then gets live events", async () => {
    const b = servers[1]!;
    const client = rawClient(b.port, "/events?topics=a", {
      headers: { "Last-Event-ID": "zzzzzzzz-12" },
    });
    await client.ready;
    await waitFor(async () => (await b.stats()).clients === 1, "the client on b");
    await settled([b], 1);
    await servers[2]!.publish("a", "after");
    await waitFor(() => client.events.length >= 2, "the resync signal and the live event");
    client.close();
    expect(client.events.map((e) => e.event)).toEqual(["resync", "a"]);
    expect(client.events[1]?.data).toBe("after");
  });

  it("a cursor from latest() (broker.cursor()) on one process resumes on another with exactly the events published after it", async () => {
    const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
    const cursor = await a.cursor();
    expect(cursor).toMatch(/^[0-9a-z]+-\d+$/);
    for (const [topic, data] of [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ] as const) {
      await c.publish(topic, data);
    }
    const back = rawClient(b.port, "/events?topics=a", { headers: { "Last-Event-ID": cursor! } });
    await waitFor(() => back.events.length >= 2, "the replay on b");
    await c.publish("a", "live");
    await waitFor(() => back.events.length >= 3, "the live event after the replay");
    back.close();
    expect(back.events.map((e) => e.data)).toEqual(["1", "3", "live"]);
  });
});
