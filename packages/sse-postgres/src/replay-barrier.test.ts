// Resumes over HTTP on the real PostgreSQL at DATABASE_URL, through two
// proxies the test can hold: one in front of the pool (history reads), one in
// front of the listening connection (the barrier: a NOTIFY to itself that
// orders the live copies of what was read before the replay). A client that
// leaves while the read it shares waits for that barrier leaks nothing, and
// the resumes sharing the read get exactly their events.
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { holdingProxy, listen, rawClient, take, waitFor } from "@burrow/test-utils";
import { afterEach, expect, it } from "vitest";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { type PostgresBackplaneStats, postgresBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const cleanups: (() => unknown)[] = [];

/** A proxy to PostgreSQL whose answers can be held (closed after the test). */
async function holdable() {
  const proxy = await holdingProxy(DATABASE_URL);
  cleanups.push(() => proxy.close());
  return proxy;
}

/**
 * A broker on a backplane whose pool and listening connection go through
 * {@link holdable} proxies (`maxReplays` 1), served over HTTP (`?topics=`),
 * with `t` and `u` watched and `t1`..`t3` published: their ids.
 */
async function setup(timeoutMs: number) {
  const prefix = uniquePrefix();
  cleanups.push(() => dropPrefix(prefix));
  const [pool, listener] = [await holdable(), await holdable()];
  // One read at a time: a resume's read holding the turn makes the next ones join one batch.
  const backplane = postgresBackplane({
    connectionString: pool.url,
    listenConnectionString: listener.url,
    prefix,
    logger: silent,
    maxReplays: 1,
    timeoutMs,
  });
  const broker = new EventBroker({ historySize: 100, backplane, resumeMissEvent: "resync" });
  cleanups.push(() => broker.close());
  const server = await listen(
    handlerFunc(
      broker,
      (req) => new URL(req.url!, "http://x").searchParams.get("topics")!.split(","),
      { keepaliveMs: 0 },
    ),
  );
  cleanups.push(() => server.close());
  const stats = () => broker.stats().backplane as PostgresBackplaneStats;
  // Watched here throughout: no LISTEN or UNLISTEN goes ahead of a barrier.
  const watcher = broker.subscribe("t");
  const uWatcher = broker.subscribe("u");
  await waitFor(() => stats().state === "ready" && stats().topics === 2, "t and u listened to");
  for (const data of ["t1", "t2", "t3"]) broker.publish("t", { data });
  const ids = (await take(watcher, 3)).map((event) => event.id!);
  /** A client resuming `topics` from `from` over HTTP (closed after the test). */
  const resume = (topics: string, from: string) => {
    const client = rawClient(server.port, `/events?topics=${topics}`, {
      headers: { "Last-Event-ID": from },
    });
    cleanups.push(() => client.close());
    return client;
  };
  return { pool, listener, broker, stats, watcher, uWatcher, ids, resume };
}

describePostgres(
  "sse-postgres: a client leaving while its shared read waits for the barrier",
  () => {
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it("is settled at once and leaks nothing; the resumes sharing its read get exactly their events", async () => {
      const { pool, listener, broker, stats, watcher, uWatcher, ids, resume } = await setup(10_000);
      // A resume of `u` takes the only turn, its read held.
      pool.hold();
      const first = resume("u", ids[0]!);
      await waitFor(() => stats().replayReads === 1, "u's read to start");
      // Three resumes of `t` join one batch, waiting for the turn.
      const stays = resume("t", ids[0]!);
      const leaves = resume("t", ids[0]!);
      const later = resume("t", ids[1]!);
      await waitFor(() => stats().replays === 4, "the three resumes of t to wait");
      // u's resume leaves: its read ends for nobody, and no barrier is sent for it.
      listener.hold();
      first.close();
      await waitFor(() => stats().replays === 3, "u's resume to be settled");
      pool.release();
      // t's read runs, serves all three, and their one barrier is sent: its answer held.
      await waitFor(() => listener.holds("NOTIFY\0"), "the barrier to be sent");
      expect(stats()).toMatchObject({ replays: 3, replayReads: 2 });

      leaves.close();
      await waitFor(() => broker.stats().clients === 4, "the leaving client to be unsubscribed");
      await waitFor(() => stats().replays === 2, "the leaving resume to be settled at once");
      listener.release();
      await waitFor(() => stays.events.length === 2 && later.events.length === 1, "the replays");
      broker.publish("t", { data: "t4" });
      await waitFor(() => stays.events.length === 3 && later.events.length === 2, "t4");
      expect(stays.events.map((event) => event.data)).toEqual(["t2", "t3", "t4"]);
      expect(later.events.map((event) => event.data)).toEqual(["t3", "t4"]);
      expect(leaves.events).toEqual([]);
      expect(broker.stats()).toMatchObject({ resumed: 2, resumeMisses: 0, clients: 4 });
      expect(stats()).toMatchObject({ replays: 0, replayReads: 2 });

      stays.close();
      later.close();
      broker.unsubscribe(watcher);
      broker.unsubscribe(uWatcher);
      await waitFor(() => broker.stats().clients === 0, "every client to be unsubscribed");
      expect(stats().replays).toBe(0);
    });
  },
);

describePostgres("sse-postgres: the listening connection hanging while a barrier waits", () => {
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("the resume is a told miss, nothing is left unhandled (the process would crash), and resumes work again once it answers", async () => {
    const { listener, stats, ids, resume } = await setup(1000);
    listener.hold();
    const missed = resume("t", ids[0]!);
    // Its read answers; its barrier is sent, never answered: the connection is taken for hung.
    await waitFor(() => missed.events.length === 1, "the resume to be told of its miss");
    expect(missed.events.map((event) => event.event)).toEqual(["resync"]);
    expect(stats().timeouts).toBeGreaterThan(0);
    listener.release();
    await waitFor(
      () => stats().state === "ready" && stats().topics === 2,
      "a new listening connection",
    );
    const back = resume("t", ids[0]!);
    await waitFor(() => back.events.length === 2, "a resume once it answers");
    expect(back.events.map((event) => event.data)).toEqual(["t2", "t3"]);
    expect(stats().replays).toBe(0);
  });
});
