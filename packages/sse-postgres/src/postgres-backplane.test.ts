// The backplane in this process, against the real PostgreSQL at DATABASE_URL,
// each test on its own table prefix; and the shared suites (test-utils'
// backplane-suite, backplane-last-suite): history, ids, prefixes, closing,
// latest(), last(), paged resumes.
import { setImmediate as tick } from "node:timers/promises";
import { EventBroker } from "@burrow/sse-core";
import { take, tcpProxy, waitFor } from "@burrow/test-utils";
import { describeLastValue, type LastValueHarness } from "@burrow/test-utils/backplane-last-suite";
import { backplaneReady, describeBackplane } from "@burrow/test-utils/backplane-suite";
import { describeSharedReplays } from "@burrow/test-utils/shared-replay-suite";
import pg from "pg";
import { afterAll, afterEach, expect, it } from "vitest";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  named,
  terminateBackends,
  uniquePrefix,
  withClient,
} from "./fixtures/harness.js";
import {
  type PostgresBackplane,
  type PostgresBackplaneOptions,
  type PostgresBackplaneStats,
  postgresBackplane,
} from "./index.js";
import { historyStatement } from "./schema.js";

const silent = { error: () => {}, info: () => {} };
const prefixes: string[] = [];
const brokers: EventBroker[] = [];
const pools: pg.Pool[] = [];

type Options = { historySize?: number; bufferSize?: number } & PostgresBackplaneOptions;

/** A broker on a backplane (on a new prefix unless given one), closed after the test. */
function setup(options: Options = {}): { broker: EventBroker; backplane: PostgresBackplane } {
  const { historySize = 10, bufferSize, ...rest } = options;
  const prefix = rest.prefix ?? uniquePrefix();
  if (!prefixes.includes(prefix)) prefixes.push(prefix);
  const backplane = postgresBackplane({
    ...(rest.pool === undefined ? { connectionString: DATABASE_URL } : {}),
    logger: silent,
    ...rest,
    prefix,
  });
  const created = new EventBroker({ historySize, bufferSize, backplane });
  brokers.push(created);
  return { broker: created, backplane };
}

function broker(options: Options = {}): EventBroker {
  return setup(options).broker;
}

function backplaneOf(b: EventBroker): PostgresBackplaneStats {
  return b.stats().backplane as PostgresBackplaneStats;
}

const ready = (b: EventBroker, topics = 0) => backplaneReady(b, topics);

function sql<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]> {
  return withClient(DATABASE_URL, async (client) => (await client.query(text, values)).rows as T[]);
}

describePostgres("PostgresBackplane on the real PostgreSQL", () => {
  afterEach(async () => {
    for (const b of brokers.splice(0)) b.close();
    for (const pool of pools.splice(0)) await pool.end();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(prefix);
  });

  it("deletes events older than retentionMs on every topic; a resume from before the cut is a miss, from the cut on replays", async () => {
    const pruner = broker({ historySize: 2, retentionMs: 200 });
    const prefix = prefixes.at(-1)!;
    const watcher = pruner.subscribe(["old", "other"]);
    await ready(pruner, 2);
    for (let i = 0; i < 3; i++) pruner.publish("old", { data: `old ${i}` });
    pruner.publish("other", { data: "other" });
    const old = await take(watcher, 4);
    await waitFor(() => backplaneOf(pruner).pruned === 3, "the old events to be pruned");
    expect(await sql(`SELECT seq FROM ${prefix}events`)).toEqual([]);
    // The trim of "old" (historySize 2) is below the cut: forgotten.
    expect(await sql(`SELECT * FROM ${prefix}topics`)).toEqual([]);
    pruner.close();

    const b = broker({ prefix });
    const live = b.subscribe("new");
    await ready(b, 1);
    b.publish("new", { data: "new" });
    await take(live, 1);
    const fromBeforeCut = b.subscribe(["old", "new"], { lastEventId: old[0]!.id! });
    const fromCut = b.subscribe(["old", "new"], { lastEventId: old[3]!.id! });
    b.publish("new", { data: "newer" });
    expect((await take(fromCut, 2)).map((e) => e.data)).toEqual(["new", "newer"]);
    expect((await take(fromBeforeCut, 1)).map((e) => e.data)).toEqual(["newer"]);
    expect(b.stats()).toMatchObject({ resumed: 1, resumeMisses: 1 });
  });

  it("the resume read returns at most its limit (historySize + 1) of rows per topic, however many the table keeps", async () => {
    // Another process keeps 50 events per topic; a process keeping 3 reads at most 4 of each.
    const long = broker({ historySize: 50, bufferSize: 1000 });
    const prefix = prefixes.at(-1)!;
    const watcher = long.subscribe(["x", "y"]);
    await ready(long, 2);
    for (let i = 0; i < 30; i++) long.publish(i < 25 ? "x" : "y", { data: String(i) });
    await take(watcher, 30);
    const rows = await sql<{ topic: string; seq: string }>(historyStatement(prefix), [
      ["x", "y", "x"],
      0,
      3 + 1,
    ]);
    // What the database hands back is already cut to 4 rows per topic (a LIMIT), in seq order.
    expect(rows.map((row) => [row.topic, Number(row.seq)])).toEqual([
      ["x", 1],
      ["x", 2],
      ["x", 3],
      ["x", 4],
      ["y", 26],
      ["y", 27],
      ["y", 28],
      ["y", 29],
    ]);
  });

  it("carries events of 1 MB and of every size around NOTIFY's 8,000-byte cap intact, live and replayed", async () => {
    const a = broker({ historySize: 20, bufferSize: 20 });
    const b = broker({ historySize: 20, bufferSize: 20, prefix: prefixes.at(-1)! });
    const watcher = b.subscribe("big");
    await Promise.all([ready(a), ready(b, 1)]);
    const pattern = '<p class="x">é 😀 \u2028 日本語</p>\n';
    const text = (n: number) => pattern.repeat(Math.ceil(n / pattern.length)).slice(0, n);
    const sizes = [0, 1, 7799, 7800, 7801, 7999, 8000, 8001, 15_600, 100_000, 1_000_000];
    const datas = sizes.map(text);
    // A lone surrogate, and characters that JSON escapes.
    datas.push('\ud800 \u0000 " \\ \t end');
    for (const data of datas) a.publish("big", { data });
    const live = await take(watcher, datas.length);
    expect(live.map((e) => e.data)).toEqual(datas);
    const ids = live.map((e) => e.id!);
    const resumed = b.subscribe("big", { lastEventId: ids[0]! });
    const replayed = await take(resumed, datas.length - 1);
    expect(replayed.map((e) => e.data)).toEqual(datas.slice(1));
    expect(replayed.map((e) => e.id)).toEqual(ids.slice(1));
  });

  it("creates its tables once when several processes start at once on a fresh prefix", async () => {
    const prefix = uniquePrefix();
    const all = Array.from({ length: 6 }, () => broker({ prefix }));
    const watcher = all[0]!.subscribe("x");
    await Promise.all(all.map((b, i) => ready(b, i === 0 ? 1 : 0)));
    for (const [i, b] of all.entries()) b.publish("x", { data: String(i) });
    const events = await take(watcher, 6);
    expect(new Set(events.map((e) => e.data))).toEqual(new Set(["0", "1", "2", "3", "4", "5"]));
    expect(events.map((e) => Number(e.id!.split("-")[1])).sort((m, n) => m - n)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(await sql(`SELECT count(*)::int AS n FROM ${prefix}meta`)).toEqual([{ n: 1 }]);
    // A later start finds everything in place and goes on with the same epoch.
    const late = broker({ prefix });
    await ready(late);
    expect((await late.cursor())?.split("-")[0]).toBe(events[0]!.id!.split("-")[0]);
    for (const b of all) expect(backplaneOf(b)).toMatchObject({ errors: 0, lastError: undefined });
  });

  it("works on the app's own pg.Pool, listens on its own connection, and leaves the pool open on close", async () => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
    pools.push(pool);
    const b = broker({ pool });
    const watcher = b.subscribe("x");
    await ready(b, 1);
    b.publish("x", { data: "through the app's pool" });
    expect((await take(watcher, 1))[0]?.data).toBe("through the app's pool");
    const cursor = await b.cursor();
    expect(cursor).toMatch(/^[0-9a-z]+-1$/);
    b.close();
    await waitFor(() => backplaneOf(b).state === "closed", "closed");
    expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("reads nothing for a resume whose client left while it waited for its turn", async () => {
    const { broker: b, backplane } = setup({ maxReplays: 1 });
    const watcher = b.subscribe("x");
    await ready(b, 1);
    b.publish("x", { data: "1" });
    const [first] = await take(watcher, 1);
    const left = new AbortController();
    const turns = [
      backplane.replay(["x"], first!.id!),
      backplane.replay(["x"], first!.id!, left.signal),
    ];
    expect(backplane.stats().replays).toBe(2);
    left.abort();
    const [served, skipped] = await Promise.all(turns);
    expect(served).toEqual({ after: 1, events: [] });
    expect(skipped).toBe(undefined);
    expect(backplane.stats()).toMatchObject({ replays: 0, replaysSkipped: 1 });
  });

  it("while PostgreSQL is held up but not yet seen silent, a burst waits up to ten times maxPending; past that, delivers here at once and counts the overflow; the rest goes through in order", async () => {
    const b = broker({ maxPending: 50, timeoutMs: 10_000, bufferSize: 1000 });
    const prefix = prefixes.at(-1)!;
    const watcher = b.subscribe("x");
    await ready(b, 1);
    const blocker = new pg.Client(DATABASE_URL);
    await blocker.connect();
    try {
      // A slow transaction holds the counter: the first batch waits for it.
      await blocker.query(`BEGIN; LOCK TABLE ${prefix}meta IN ACCESS EXCLUSIVE MODE`);
      for (let i = 0; i < 120; i++) b.publish("x", { data: String(i) });
      // Past maxPending, but nothing says PostgreSQL stopped answering: they wait.
      expect(backplaneOf(b)).toMatchObject({ pending: 120, overflow: 0 });
      for (let i = 120; i < 570; i++) b.publish("x", { data: String(i) });
      expect(backplaneOf(b)).toMatchObject({ pending: 500, overflow: 70 });
      // The 70 that did not fit reach this process's client at once, without an id.
      const overflowed = await take(watcher, 70);
      expect(overflowed.map((e) => e.data)).toEqual(
        Array.from({ length: 70 }, (_, i) => String(i + 500)),
      );
      expect(overflowed.every((e) => e.id === undefined)).toBe(true);
      await blocker.query("COMMIT");
    } finally {
      await blocker.end();
    }
    const ordered = await take(watcher, 500);
    expect(ordered.map((e) => e.data)).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
    expect(ordered.every((e) => /-\d+$/.test(e.id ?? ""))).toBe(true);
    // The events can come back through LISTEN before their statements' answers: wait for those.
    await waitFor(() => backplaneOf(b).pending === 0, "the publishes' answers");
    expect(backplaneOf(b)).toMatchObject({
      state: "ready",
      pending: 0,
      overflow: 70,
      published: 500,
    });
  });

  it("a publish committed whose answer is lost (its connection reset as the answer comes) is delivered here once, not again when its echo comes", async () => {
    // The publishing connections go through a proxy that, when asked, resets the connection
    // instead of passing PostgreSQL's answer on: the batch is committed, its answer lost.
    // The listening connection goes through one that delays what it receives by 100 ms, so
    // the echo of that batch comes after the loss is known.
    let cutAnswers = false;
    const pub = await tcpProxy(DATABASE_URL, (client) => (chunk) => {
      if (cutAnswers) client.destroy();
      else client.write(chunk);
    });
    const listen = await tcpProxy(DATABASE_URL, (client) => (chunk) => {
      setTimeout(() => client.write(chunk), 100);
    });
    try {
      const b = broker({ connectionString: pub.url, listenConnectionString: listen.url });
      const client = b.subscribe("x");
      await ready(b, 1);
      cutAnswers = true;
      for (let i = 0; i < 5; i++) b.publish("x", { data: String(i) });
      const local = await take(client, 5);
      cutAnswers = false;
      expect(local.map((e) => [e.data, e.id])).toEqual(
        Array.from({ length: 5 }, (_, i) => [String(i), undefined]),
      );
      expect(await sql(`SELECT count(*)::int AS n FROM ${prefixes.at(-1)}events`)).toEqual([
        { n: 5 },
      ]);
      // The echoes came through PostgreSQL, after the loss, and were not delivered again.
      await ready(b, 1);
      b.publish("x", { data: "marker" });
      const [next] = await take(client, 1);
      expect(next?.data).toBe("marker");
      expect(backplaneOf(b)).toMatchObject({ localOnly: 5, received: 1 });
    } finally {
      pub.close();
      listen.close();
    }
  });

  it("recovers what another process published while its listening connection was cut before any event came through PostgreSQL", async () => {
    // The listening connection goes through a proxy that, when asked, resets every connection
    // PostgreSQL answers: the link stays down until it lets them through again.
    let cut = false;
    const listen = await tcpProxy(DATABASE_URL, (client) => (chunk) => {
      if (cut) client.destroy();
      else client.write(chunk);
    });
    try {
      const name = `burrow-sse-first-${Math.random().toString(36).slice(2, 10)}`;
      const b = broker({ listenConnectionString: named(listen.url, `${name}-listen`) });
      const other = broker({ prefix: prefixes.at(-1)! });
      const client = b.subscribe("x");
      await Promise.all([ready(b, 1), ready(other)]);
      // Nothing came through PostgreSQL here yet when the listening connection is cut.
      cut = true;
      expect(await terminateBackends(`${name}-listen`)).toBe(1);
      await waitFor(() => backplaneOf(b).state === "down", "the link to go down");
      other.publish("x", { data: "while cut" });
      await waitFor(
        async () =>
          (await sql(`SELECT count(*)::int AS n FROM ${prefixes.at(-1)}events`))[0]?.n === 1,
        "the event to be stored",
      );
      cut = false;
      await ready(b, 1);
      other.publish("x", { data: "after" });
      const [first] = await take(client, 1);
      expect(first?.data).toBe("while cut");
      const [second] = await take(client, 1);
      expect(second?.data).toBe("after");
      expect(backplaneOf(b)).toMatchObject({ recovered: 1, gaps: 0 });
    } finally {
      listen.close();
    }
  });

  it.each([
    ["its publishing connections", ["pub"]],
    ["its publishing and listening connections", ["pub", "listen"]],
  ])(
    "delivers each of its own publishes exactly once when %s are terminated mid-stream",
    async (_, roles) => {
      const name = `burrow-sse-own-${Math.random().toString(36).slice(2, 10)}`;
      // Room for the burst delivered locally while the iterator waits for its turn.
      const b = broker({
        bufferSize: 1000,
        historySize: 1000,
        connectionString: named(DATABASE_URL, `${name}-pub`),
        listenConnectionString: named(DATABASE_URL, `${name}-listen`),
      });
      const client = b.subscribe("x");
      await ready(b, 1);
      const total = 300;
      let killing: Promise<number[]> | undefined;
      for (let i = 0; i < total; i++) {
        // Not awaited, and bursts of publishes: the kill lands while some are in flight.
        if (i === 100)
          killing = Promise.all(roles.map((role) => terminateBackends(`${name}-${role}`)));
        b.publish("x", { data: String(i) });
        if (i % 20 === 0) await tick();
      }
      expect((await killing)?.every((n) => n >= 1)).toBe(true);
      // A marker through PostgreSQL after everything: any late echo of the above comes before it.
      await ready(b, 1);
      b.publish("x", { data: "marker" });
      const events = await take(client, total + 1);
      const data = events.slice(0, -1).map((e) => Number(e.data));
      expect(events.at(-1)?.data).toBe("marker");
      expect([...data].sort((m, n) => m - n)).toEqual(Array.from({ length: total }, (_, i) => i));
      // Terminating the listening connection always takes the link down; a publishing one only
      // when it was in use, and a terminated idle pool connection may report its error after
      // the marker came back: the link ends ready either way.
      await waitFor(() => backplaneOf(b).state === "ready", "the link to end ready");
      if (roles.includes("listen")) expect(backplaneOf(b).errors).toBeGreaterThanOrEqual(1);
      expect(b.stats().dropped).toBe(0);
    },
  );
});

// What every backplane does in one process (test-utils' backplane suites, also run against Redis).
const harness: LastValueHarness<ReturnType<EventBroker["subscribe"]>> = {
  describe: describePostgres,
  name: "sse-postgres",
  uniquePrefix,
  backplane: (prefix) =>
    postgresBackplane({ connectionString: DATABASE_URL, prefix, logger: silent }),
  broker: (backplane, historySize, topics) =>
    new EventBroker({
      historySize,
      bufferSize: 1000,
      backplane: backplane as PostgresBackplane,
      topics,
    }),
  stored: async (prefix) => {
    const rows = await sql<{ topic: string; n: number }>(
      `SELECT topic, count(*)::int AS n FROM ${prefix}events GROUP BY topic`,
    );
    return Object.fromEntries(rows.map(({ topic, n }) => [topic, n]));
  },
  url: DATABASE_URL,
  through: (url, prefix, timeoutMs) =>
    postgresBackplane({ connectionString: url, prefix, timeoutMs, logger: silent }),
  drop: dropPrefix,
};
describeBackplane(harness);
describeLastValue(harness);
describeSharedReplays(harness);
