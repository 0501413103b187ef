// PostgreSQL faults, on a private cluster started by this file (initdb +
// postgres on a free port, as a non-root user), with server child processes:
// unreachable at start, the listening connection terminated mid-stream, the
// database stopped and started, a hung server (SIGSTOP), and a slow
// transaction holding a lock. No crash, one clear logged error per outage,
// local delivery goes on, recovery by itself, bounded memory.
import { rawClient, recordEvents, waitFor } from "@burrow/test-utils";
import { checkOutageMidStream, checkUnreachableAtStart } from "@burrow/test-utils/backplane-faults";
import { listening, state } from "@burrow/test-utils/backplane-server";
import {
  describePrivateCluster,
  type PrivateCluster,
  privateCluster,
} from "@burrow/test-utils/postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  freePort,
  killServers,
  startPostgresServer,
  terminateBackends,
  uniquePrefix,
  withClient,
} from "./fixtures/harness.js";

let cluster: PrivateCluster;

/** A server process on the private cluster (`timeoutMs` 2000, the default). */
function start(options: {
  prefix: string;
  url?: string;
  name?: string;
  listenUrl?: string;
  maxPending?: number;
  bufferSize?: number;
  history?: number;
}) {
  return startPostgresServer({ url: cluster.url, timeoutMs: 2000, ...options });
}

describePrivateCluster("PostgreSQL faults (private cluster)", () => {
  beforeAll(async () => {
    cluster = privateCluster(await freePort());
  });

  afterEach(async () => {
    killServers();
    await cluster.resume();
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it("unreachable at start: the server runs, says so once, delivers locally, and connects once PostgreSQL is up", async () => {
    const server = await start({ prefix: uniquePrefix() });
    await checkUnreachableAtStart(
      server,
      `[error] sse-postgres: PostgreSQL at ${cluster.url} is unreachable (`,
      {
        name: "sse-postgres",
        engine: "PostgreSQL",
        url: cluster.url,
        start: () => cluster.start(),
      },
    );
  });

  it("runs as a role that may only use the tables and function another role created", async () => {
    await cluster.start();
    const prefix = uniquePrefix();
    const owner = await start({ prefix });
    await listening(owner, 0);
    await withClient(cluster.url, (admin) =>
      admin.query(`DROP ROLE IF EXISTS fault_app; CREATE ROLE fault_app LOGIN;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ${prefix}meta, ${prefix}events, ${prefix}topics TO fault_app`),
    );
    const app = await start({ prefix, url: cluster.url.replace("postgres@", "fault_app@") });
    const client = recordEvents(`${app.url}/events?topics=x`, ["x"]);
    await client.opened;
    await listening(app, 1);
    await app.publish("x", "as fault_app");
    // publish returns before PostgreSQL orders the event: let it arrive before the next one races it.
    await client.waitForCount(1);
    await owner.publish("x", "as the owner");
    const events = await client.waitForCount(2);
    client.close();
    expect(events.map((e) => e.data)).toEqual(["as fault_app", "as the owner"]);
    expect(events.every((e) => /-\d+$/.test(e.id ?? ""))).toBe(true);
    const stats = (await app.stats()).backplane;
    expect(stats).toMatchObject({ errors: 0 });
    expect(stats.lastError).toBe(undefined);
  });

  it("the listening connection terminated mid-stream (pg_terminate_backend): the process reconnects and recovers what it missed, in order", async () => {
    await cluster.start();
    // b listens as its own role, so that the test can keep it from reconnecting for a while.
    await withClient(cluster.url, (admin) =>
      admin.query("DROP ROLE IF EXISTS fault_listener; CREATE ROLE fault_listener LOGIN"),
    );
    const prefix = uniquePrefix();
    const a = await start({ prefix, name: "fault-a" });
    const b = await start({
      prefix,
      name: "fault-b",
      listenUrl: cluster.url.replace("postgres@", "fault_listener@"),
    });
    const onA = recordEvents(`${a.url}/events?topics=x,y`, ["x", "y"]);
    const onB = rawClient(b.port, "/events?topics=x,y");
    await Promise.all([onA.opened, onB.ready]);
    await Promise.all([listening(a, 2), listening(b, 2)]);
    // Three bursts of 30 events, data `<n> xxxxxxxx` with n from 0 in each.
    const burst = async (total: number) => {
      await a.flood("x,y", 30, 8, 30);
      await waitFor(
        async () => (await a.stats()).backplane.published === total,
        `${total} ordered`,
      );
    };
    await burst(30);
    await waitFor(() => onB.events.length >= 30, "the first burst on b");
    await withClient(cluster.url, (admin) => admin.query("ALTER ROLE fault_listener NOLOGIN"));
    expect(await terminateBackends("fault-b-listen", cluster.url)).toBe(1);
    await state(b, "down");
    // Published while b cannot hear: b reads them from the table when it is back.
    await burst(60);
    await withClient(cluster.url, (admin) => admin.query("ALTER ROLE fault_listener LOGIN"));
    await listening(b, 2);
    await burst(90);
    await waitFor(() => onB.events.length >= 90, `90 events on b (have ${onB.events.length})`);
    await onA.waitForCount(90);
    const ids = (events: { id?: string }[]) => events.map((e) => e.id);
    expect(ids(onB.events)).toEqual(ids(onA.events));
    expect(onB.events.map((e) => e.data.split(" ")[0])).toEqual(
      [0, 1, 2].flatMap(() => Array.from({ length: 30 }, (_, i) => String(i))),
    );
    onA.close();
    onB.close();
    const stats = (await b.stats()).backplane;
    // Each event came through PostgreSQL exactly once: live, or recovered from the table.
    expect(stats).toMatchObject({
      state: "ready",
      errors: 1,
      gaps: 0,
      received: 90,
      recovered: 30,
    });
    expect(b.stderr).toContain("[error] sse-postgres: PostgreSQL at");
    expect(b.stderr).toContain("[info] sse-postgres: reconnected to PostgreSQL");
    expect(a.stderr).toBe("");
  });

  it("the database stopped and started mid-stream: local delivery goes on, both processes reconnect, old ids still resume", async () => {
    await cluster.start();
    const prefix = uniquePrefix();
    const a = await start({ prefix });
    const b = await start({ prefix });
    const engine = { name: "sse-postgres", engine: "PostgreSQL", url: cluster.url };
    await checkOutageMidStream(
      [a, b],
      { ...engine, start: () => cluster.start(), stop: () => cluster.stop() },
      true,
    );
  });

  it("a hung server (SIGSTOP) while 5,000 events/s of 1 KB are published: noticed, local delivery goes on, memory bounded, recovery after SIGCONT", async () => {
    await cluster.start();
    const prefix = uniquePrefix();
    // History long enough that a second outage, on a loaded machine, still recovers everything.
    const server = await start({ prefix, maxPending: 2000, bufferSize: 20_000, history: 50_000 });
    // A process that publishes nothing: only its listening connection's health check can notice.
    const idle = await start({ prefix });
    const client = rawClient(server.port, "/events?topics=x");
    const idleClient = rawClient(idle.port, "/events?topics=x");
    await Promise.all([client.ready, idleClient.ready]);
    await Promise.all([listening(server, 1), listening(idle, 1)]);
    const heapBefore = (await server.stats(true)).heapUsed;
    await server.flood("x", 50, 1024);
    await waitFor(() => client.events.length >= 500, "events through PostgreSQL");

    await cluster.pause();
    await Promise.all([state(server, "down"), state(idle, "down")]);
    expect((await idle.stats()).backplane.timeouts).toBeGreaterThan(0);
    const atDown = client.events.length;
    // Delivered here while the server hangs.
    await waitFor(() => client.events.length >= atDown + 2000, "local delivery during the hang");
    const during = await server.stats(true);
    expect(during.backplane.pending).toBeLessThanOrEqual(2000);
    expect(during.backplane.timeouts).toBeGreaterThan(0);
    expect(during.heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    expect(server.stderr).toMatch(
      /\[error\] sse-postgres: PostgreSQL at .* is unreachable \(.*(no answer for \d+ ms|timeout)/,
    );

    await cluster.resume();
    await Promise.all([listening(server, 1), listening(idle, 1)]);
    idleClient.close();
    const published = await server.stopFlood();
    await waitFor(() => client.events.length >= published, `all ${published} events`);
    client.close();
    const numbers = client.events.map((e) => Number(e.data.split(" ")[0]));
    // Every event once: through PostgreSQL, or here only while it hung.
    expect(numbers).toHaveLength(published);
    expect(new Set(numbers).size).toBe(published);
    const stats = (await server.stats()).backplane;
    expect(stats.state).toBe("ready");
    expect(stats.errors).toBeGreaterThanOrEqual(1);
    // Past maxPending while the hang was not yet noticed: counted, delivered here.
    expect(stats.overflow).toBeGreaterThan(0);
    // Each event ordered by PostgreSQL, or delivered here only (down, failed, or past the cap).
    expect(Number(stats.published) + Number(stats.localOnly) + Number(stats.overflow)).toBe(
      published,
    );
    expect(server.stderr).toContain("[info] sse-postgres: reconnected to PostgreSQL");
  });

  it("a slow transaction holding a lock: publishes time out instead of piling up, are delivered locally, and go through once it ends", async () => {
    await cluster.start();
    const prefix = uniquePrefix();
    const server = await start({ prefix, name: "fault-lock" });
    const client = recordEvents(`${server.url}/events?topics=x`, ["x"]);
    await client.opened;
    await listening(server, 1);
    const blocker = new pg.Client(cluster.url);
    await blocker.connect();
    try {
      await blocker.query(`BEGIN; LOCK TABLE ${prefix}meta IN ACCESS EXCLUSIVE MODE`);
      for (let i = 0; i < 5; i++) await server.publish("x", `held ${i}`);
      await state(server, "down");
      await client.waitForCount(5);
      for (let i = 5; i < 10; i++) await server.publish("x", `held ${i}`);
      await client.waitForCount(10);
      const stats = (await server.stats()).backplane;
      expect(stats.timeouts).toBeGreaterThan(0);
      expect(String(stats.lastError)).toMatch(/(lock|statement) timeout|no answer/);
      // Every statement is bounded: the backend count of this process stays small.
      const backends = await withClient(cluster.url, async (admin) =>
        Number(
          (
            await admin.query(
              "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'fault-lock-%'",
            )
          ).rows[0].n,
        ),
      );
      expect(backends).toBeLessThanOrEqual(7);
      await blocker.query("COMMIT");
    } finally {
      await blocker.end();
    }
    await listening(server, 1);
    await server.publish("x", "after");
    const events = await client.waitForCount(11);
    client.close();
    expect(events.map((e) => e.data)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `held ${i}`),
      "after",
    ]);
    expect(events.slice(0, 10).every((e) => e.id === "")).toBe(true);
    expect(events[10]?.id).toMatch(/^[0-9a-z]+-1$/);
  });
});
