// A lock held on the counter row (another connection's SELECT … FOR UPDATE
// on this test's own <prefix>meta) under load: every publish waits for it
// and times out, so the link must say "down" the whole time, not flap
// between "down" and "ready", and log it once (degraded), then once when it
// recovers with what it cost.
import { EventBroker } from "@burrow/sse-core";
import { take, waitFor } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { type PostgresBackplaneStats, postgresBackplane } from "./index.js";

const prefix = uniquePrefix();

describePostgres("the link under a lock held on the counter row", () => {
  afterAll(() => dropPrefix(prefix));

  it("reports down while publishes cannot take the lock, logs one degraded line and one summary, and delivers every event once", async () => {
    const lines: string[] = [];
    const backplane = postgresBackplane({
      connectionString: DATABASE_URL,
      prefix,
      timeoutMs: 400,
      logger: {
        error: (message) => lines.push(`error ${message}`),
        info: (message) => lines.push(`info ${message}`),
      },
    });
    const broker = new EventBroker({ historySize: 10, bufferSize: 10_000, backplane });
    const stats = () => broker.stats().backplane as PostgresBackplaneStats;
    const client = broker.subscribe("x");
    await backplaneReady(broker, 1);
    const blocker = new pg.Client(DATABASE_URL);
    await blocker.connect();
    let published = 0;
    // Load: a publish every 10 ms for as long as the test runs.
    const load = setInterval(() => broker.publish("x", { data: String(published++) }), 10);
    const states = new Set<string>();
    let held = 0;
    try {
      await blocker.query(`BEGIN; SELECT seq FROM ${prefix}meta FOR UPDATE`);
      await waitFor(() => stats().state === "down", "the first batch to time out");
      const downAt = performance.now();
      // Held until four more statements timed out on the lock (a few seconds): on main, the
      // link said "ready" again within ~100 ms of each one, then down at the next batch's.
      const before = stats().timeouts;
      await waitFor(() => {
        states.add(stats().state);
        return stats().timeouts >= before + 4;
      }, "four more statements to time out on the lock");
      held = (performance.now() - downAt) / 1000;
      await blocker.query("COMMIT");
      await waitFor(() => stats().state === "ready", "the link to recover");
    } finally {
      clearInterval(load);
      await blocker.end();
    }
    expect([...states]).toEqual(["down"]);
    const { localOnly, timeouts } = stats();
    expect(timeouts).toBeGreaterThan(0);
    expect(localOnly).toBeGreaterThan(100);
    // Every event once, in order: through PostgreSQL, or here only while publishes could not go through.
    const events = await take(client, published);
    expect(events.map((e) => Number(e.data))).toEqual(
      Array.from({ length: published }, (_, i) => i),
    );
    expect(lines).toHaveLength(2);
    // lock_timeout and statement_timeout are both timeoutMs: either may cancel the wait first.
    expect(lines[0]?.replace(/due to (lock|statement) timeout/, "due to … timeout")).toBe(
      `error sse-postgres: link to PostgreSQL at ${DATABASE_URL} degraded: it answers, but cancels publishes for their time (canceling statement due to … timeout): a transaction holding a lock on ${prefix}meta, the event counter (SELECT … FOR UPDATE, LOCK TABLE), or an overloaded server; events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until publishes go through again`,
    );
    const summary =
      /^info sse-postgres: link to PostgreSQL at (.*) recovered after (\d+\.\d) s degraded; (\d+) publish batch\(es\) timed out, (\d+) event\(s\) published here meanwhile reached this process's clients only$/.exec(
        lines[1] ?? "",
      );
    expect(summary?.[1]).toBe(DATABASE_URL);
    expect(Number(summary?.[2])).toBeGreaterThanOrEqual(Math.floor(held * 10) / 10);
    expect(Number(summary?.[3])).toBeGreaterThanOrEqual(1);
    expect(Number(summary?.[4])).toBe(localOnly);
    broker.close();
  });
});
