// Presence through PostgreSQL: in this process (two brokers, each on its own
// backplane and connections), with server child processes (test-utils'
// shared backplane presence suite, also run against Redis), and through a
// private cluster's restart; plus the backplane's reports to observers.
import {
  type BackplaneReport,
  EventBroker,
  handlerFunc,
  type PresenceChange,
} from "@burrow/sse-core";
import { listen, take, waitFor } from "@burrow/test-utils";
import { describeBackplanePresence } from "@burrow/test-utils/backplane-presence-suite";
import {
  describePrivateCluster,
  type PrivateCluster,
  privateCluster,
} from "@burrow/test-utils/postgres";
import { afterAll, afterEach, expect, it } from "vitest";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  freePort,
  killServers,
  privateClusterUnavailable,
  startPostgresServer,
  uniquePrefix,
  withClient,
} from "./fixtures/harness.js";
import { type PostgresBackplaneStats, postgresBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const cleanups: (() => unknown)[] = [];
const prefixes: string[] = [];

async function cleanup(): Promise<void> {
  killServers();
  for (const step of cleanups.splice(0).reverse()) await step();
}

let cluster: PrivateCluster | undefined;

/**
 * The file's private cluster (each test on its own prefix, as in
 * faults.test.ts), started, and thawed after the test.
 */
async function startedCluster(): Promise<PrivateCluster> {
  cluster ??= privateCluster(await freePort());
  const started = cluster;
  await started.start();
  cleanups.push(() => started.resume());
  return started;
}

afterAll(async () => {
  for (const prefix of prefixes.splice(0)) await dropPrefix(prefix);
  await cluster?.destroy();
});

/** "<members>|+<joined>|-<left>", ids sorted with their connection counts. */
const render = ({ joined, left, members }: PresenceChange): string =>
  `${members
    .map((m) => `${m.id}${m.connections}`)
    .sort()
    .join(",")}|+${joined.map((m) => m.id).join(",")}|-${left.map((m) => m.id).join(",")}`;

/**
 * A broker with presence on its own backplane (own pool and listening
 * connection) on `prefix`. A short `presenceTtlMs` (and `timeoutMs`) only for
 * tests of expiry: on a loaded machine a heartbeat or a statement can be late
 * by more than that, the process is then swept (or its link goes down) and
 * re-announces its members, which a test of exact events would read as
 * duplicates.
 */
function presenceBroker(prefix: string, presenceTtlMs = 2000, timeoutMs = 1000): EventBroker {
  const broker = new EventBroker({
    backplane: postgresBackplane({
      connectionString: DATABASE_URL,
      prefix,
      logger: silent,
      timeoutMs,
      presenceTtlMs,
    }),
    // Every change its own event, none conflated: these tests count announcements.
    topics: { "presence:*": { kind: "log" } },
    presence: { render, debounceMs: 0, renderIntervalMs: 0 },
  });
  cleanups.push(() => broker.close());
  return broker;
}

const backplaneOf = (broker: EventBroker) => broker.stats().backplane as PostgresBackplaneStats;

async function ready(...brokers: EventBroker[]): Promise<void> {
  for (const broker of brokers) {
    await waitFor(() => backplaneOf(broker).state === "ready", "the backplane to be ready");
  }
}

/** Rows of the presence tables on `prefix`: processes, and (topic, process) rows. */
async function rowCounts(prefix: string): Promise<{ procs: number; rows: number }> {
  return withClient(DATABASE_URL, async (client) => {
    const procs = await client.query(`SELECT count(*) AS n FROM ${prefix}presence_procs`);
    const rows = await client.query(`SELECT count(*) AS n FROM ${prefix}presence`);
    return { procs: Number(procs.rows[0].n), rows: Number(rows.rows[0].n) };
  });
}

const sorted = (members: { id: string; connections: number }[]) =>
  members.map(({ id, connections }) => `${id}${connections}`).sort();

/**
 * Two brokers with presence on one new prefix, ready, and a client of `b`
 * watching `presence:room` (b listening to it). Neither is swept unless a
 * test asks for the short TTL (`expiring`): see {@link presenceBroker}.
 */
async function twoBrokers(expiring = false) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const [ttlMs, timeoutMs] = expiring ? [2000, 1000] : [60_000, 20_000];
  const a = presenceBroker(prefix, ttlMs, timeoutMs);
  const b = presenceBroker(prefix, ttlMs, timeoutMs);
  const watcher = b.subscribe("presence:room");
  await ready(a, b);
  await waitFor(() => backplaneOf(b).topics === 1, "b to listen to presence:room");
  return { prefix, a, b, watcher };
}

/**
 * Reads presence events from `watcher` until `count` members were announced
 * as joined (or left), sorted: changes of one tick share an event.
 */
async function announced(
  watcher: AsyncIterable<{ data?: string }>,
  count: number,
  part: "joined" | "left",
): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const [event] = await take(watcher, 1);
    // "<members>|+<joined>|-<left>"
    const [, joined = "", left = ""] = (event?.data ?? "").split("|");
    const list = (part === "joined" ? joined : left).slice(1);
    if (list !== "") ids.push(...list.split(","));
  }
  return ids.sort();
}

describePostgres("presence through PostgreSQL, two brokers in this process", () => {
  afterEach(cleanup);

  it("gives both brokers the same members, and publishes each change once", async () => {
    const { a, b, watcher } = await twoBrokers();
    const alice = a.subscribe("room", { member: { id: "alice" } });
    const [first] = await take(watcher, 1);
    expect(first?.data).toBe("alice1|+alice|-");
    b.subscribe("room", { member: { id: "alice" } }); // a second tab, on the other process
    b.subscribe("room", { member: { id: "bob" } });
    const [second] = await take(watcher, 1);
    expect(second?.data).toBe("alice2,bob1|+bob|-");
    for (const broker of [a, b]) {
      await waitFor(
        async () => sorted(await broker.members("room")).join() === "alice2,bob1",
        "both brokers to list alice twice and bob",
      );
    }
    a.unsubscribe(alice); // alice is still on b: no leave
    await waitFor(
      async () => sorted(await a.members("room")).join() === "alice1,bob1",
      "alice's count to drop",
    );
    b.publish("presence:room", { data: "marker" });
    const [next] = await take(watcher, 1);
    expect(next?.data).toBe("marker");
  });

  it("sync is atomic: of two brokers joining (then leaving) as one member at once, exactly one announces it", async () => {
    const { a, b, watcher } = await twoBrokers();
    // Eight members join on both at once (then leave on both at once): one event each; 4 rounds.
    for (let round = 0; round < 4; round++) {
      const users = Array.from({ length: 8 }, (_, i) => `user${round}-${i}`);
      const clients = users.flatMap((id) => [
        a.subscribe("room", { member: { id } }),
        b.subscribe("room", { member: { id } }),
      ]);
      expect(await announced(watcher, users.length, "joined")).toEqual(users);
      for (const [i, client] of clients.entries()) (i % 2 === 0 ? a : b).unsubscribe(client);
      expect(await announced(watcher, users.length, "left")).toEqual(users);
    }
    // No further presence event: a marker published now is the next one.
    b.publish("presence:room", { data: "marker" });
    expect((await take(watcher, 1))[0]?.data).toBe("marker");
  });

  it("deletes the rows of members who left and of a closed broker (swept by the other)", async () => {
    const { prefix, a, b, watcher } = await twoBrokers(true);
    const bob = b.subscribe("room", { member: { id: "bob" } });
    a.subscribe("room", { member: { id: "alice" } });
    a.subscribe("elsewhere", { member: { id: "alice" } });
    await take(watcher, 2);
    await waitFor(
      async () => JSON.stringify(await rowCounts(prefix)) === '{"procs":2,"rows":3}',
      "a row per process and topic",
    );
    b.unsubscribe(bob);
    expect((await take(watcher, 1))[0]?.data).toBe("alice1|+|-bob");
    expect((await rowCounts(prefix)).rows).toBe(2);
    a.close();
    // a marked itself expired; b's sweep deletes its rows and announces alice's leave.
    expect((await take(watcher, 1))[0]?.data).toBe("|+|-alice");
    await waitFor(async () => (await rowCounts(prefix)).procs === 1, "a's process row deleted");
    expect((await rowCounts(prefix)).rows).toBe(0);
    expect(backplaneOf(b).presenceSweeps).toBeGreaterThan(0);
  });

  it("shows a topic's presence only to clients allowed on the topic", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const broker = presenceBroker(prefix);
    await ready(broker);
    const user = (req: { url?: string }) =>
      new URL(req.url ?? "/", "http://x").searchParams.get("user");
    const events = handlerFunc(
      broker,
      (req) => new URL(req.url ?? "/", "http://x").pathname.slice(1),
      {
        keepaliveMs: 0,
        authorize: (req, topics) => user(req) !== "mallory" || !topics.includes("project"),
        presence: (req) => {
          const id = user(req);
          return id === null ? undefined : { id };
        },
      },
    );
    const server = await listen(events);
    cleanups.push(() => server.close());
    const denied = await fetch(`${server.url}/presence:project?user=mallory`);
    expect(denied.status).toBe(403);
    await denied.body?.cancel();
    const allowed = new AbortController();
    cleanups.push(() => allowed.abort());
    const carol = await fetch(`${server.url}/presence:project?user=carol`, {
      signal: allowed.signal,
    });
    expect(carol.status).toBe(200);
  });

  it("reports one round trip per own publish to an observer", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const broker = presenceBroker(prefix);
    const reports: BackplaneReport[] = [];
    broker.observe({ backplane: (report) => reports.push(report) });
    const client = broker.subscribe("x");
    await ready(broker);
    await waitFor(() => backplaneOf(broker).topics === 1, "listening to x");
    expect(reports).toEqual([{ kind: "state", state: "ready", previous: "connecting" }]);
    for (let i = 0; i < 5; i++) broker.publish("x", { data: String(i) });
    expect((await take(client, 5)).map((e) => e.data)).toEqual(["0", "1", "2", "3", "4"]);
    await waitFor(
      () => reports.filter((r) => r.kind === "roundTrip").length === 5,
      "five round trips",
    );
    for (const report of reports.slice(1)) {
      expect(report.kind).toBe("roundTrip");
      expect(report.kind === "roundTrip" && report.seconds >= 0).toBe(true);
    }
  });
});

describeBackplanePresence("postgres", {
  describe: describePostgres,
  privateUnavailable: privateClusterUnavailable,
  space: ({ ttlMs, url }) => {
    const prefix = uniquePrefix();
    if (url === undefined) prefixes.push(prefix);
    return () =>
      startPostgresServer({ prefix, url, presenceTtlMs: ttlMs, timeoutMs: 300, history: 10 });
  },
  privateEngine: startedCluster,
  outages: [
    {
      name: "a frozen PostgreSQL",
      cut: (cluster) => cluster.pause(),
      restore: (cluster) => cluster.resume(),
    },
    {
      name: "a PostgreSQL restart (data kept)",
      cut: (cluster) => cluster.stop(),
      restore: (cluster) => cluster.start(),
    },
  ],
  cleanup,
});

describePrivateCluster("backplane reports across a PostgreSQL restart", () => {
  afterEach(cleanup);

  it("an observer sees ready, down, then ready again", async () => {
    const cluster = await startedCluster();
    const broker = new EventBroker({
      backplane: postgresBackplane({
        connectionString: cluster.url,
        logger: silent,
        timeoutMs: 500,
      }),
    });
    cleanups.push(() => broker.close());
    const states: string[] = [];
    broker.observe({
      backplane: (report) => {
        if (report.kind === "state") states.push(`${report.previous}>${report.state}`);
      },
    });
    broker.subscribe("x");
    await ready(broker);
    await cluster.stop();
    await waitFor(() => backplaneOf(broker).state === "down", "down");
    await cluster.start();
    await ready(broker);
    expect(states).toEqual(["connecting>ready", "ready>down", "down>ready"]);
  });
});
