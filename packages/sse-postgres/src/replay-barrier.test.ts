// Resumes over HTTP on the real PostgreSQL at DATABASE_URL, through two
// proxies the test can hold: one in front of the pool (history reads), one in
// front of the listening connection (the barrier: a NOTIFY to itself that
// orders the live copies of what was read before the replay). A client that
// leaves while the read it shares waits for that barrier leaks nothing, and
// the resumes sharing the read get exactly their events.
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { listen, rawClient, type TcpProxy, take, tcpProxy, waitFor } from "@burrow/test-utils";
import { afterEach, expect, it } from "vitest";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { type PostgresBackplaneStats, postgresBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const cleanups: (() => unknown)[] = [];

/** A proxy to PostgreSQL whose answers are held while `held` is an array, passed on by {@link release}. */
async function holdable() {
  const state: { held: (() => void)[] | undefined; chunks: Buffer[] } = {
    held: undefined,
    chunks: [],
  };
  const proxy: TcpProxy = await tcpProxy(DATABASE_URL, (client) => (chunk) => {
    if (state.held === undefined) return void client.write(chunk);
    state.chunks.push(chunk);
    state.held.push(() => client.write(chunk));
  });
  cleanups.push(() => proxy.close());
  return {
    url: proxy.url,
    hold: () => {
      state.held = [];
      state.chunks = [];
    },
    /** Whether an answer held contains `text`. */
    holds: (text: string) => state.chunks.some((chunk) => chunk.includes(text)),
    release: () => {
      const held = state.held ?? [];
      state.held = undefined;
      for (const write of held) write();
    },
  };
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
