import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { thrownBy } from "@burrow/test-utils";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_REPLAYS,
  DEFAULT_PREFIX,
  DEFAULT_TIMEOUT_MS,
  PostgresBackplane,
  postgresBackplane,
} from "./index.js";

describe("postgresBackplane options", () => {
  it.each([
    ["options", null, "sse: options: postgresBackplane takes an options object, got null"],
    [
      "prefix",
      { prefix: "Bad-Prefix" },
      "sse: prefix: must be 1 to 30 characters of a-z, 0-9 and _",
    ],
    ["prefix", { prefix: "1abc" }, 'got "1abc"'],
    ["prefix", { prefix: "a".repeat(31) }, "sse: prefix:"],
    ["prefix", { prefix: "x; DROP TABLE users; --" }, "sse: prefix:"],
    [
      "connectionString",
      { connectionString: 42 },
      "sse: connectionString: must be a connection string",
    ],
    ["listenConnectionString", { listenConnectionString: "" }, "sse: listenConnectionString:"],
    [
      "connectionString",
      { connectionString: "host=127.0.0.1 dbname=test user=app password=secret" },
      'sse: connectionString: is a libpq key/value list, which node-postgres does not read (it would connect to a host named base), got "host=127.0.0.1 dbname=test user=app pass…" (a string) — write it as postgres://user:password@host:5432/database',
    ],
    [
      "connectionString",
      { connectionString: "127.0.0.1:5432/test" },
      "sse: connectionString: has no postgres:// scheme",
    ],
    [
      "connectionString",
      { connectionString: "mysql://app@127.0.0.1/test" },
      "sse: connectionString: starts with mysql://, which is not PostgreSQL's scheme",
    ],
    [
      "connectionString",
      { connectionString: "postgres://app:secret@127.0.0.1:99999/test" },
      'sse: connectionString: node-postgres cannot read it (Invalid URL), got "postgres://app:***@127.0.0.1:99999/test" (a string) — write it as postgres://user:password@host:5432/database',
    ],
    [
      "connectionString",
      { connectionString: "postgres://127.0.0.1/test?sslrootcert=/nonexistent/ca.pem" },
      "sse: connectionString: node-postgres cannot read it (ENOENT: no such file or directory, open '/nonexistent/ca.pem')",
    ],
    [
      "listenConnectionString",
      { listenConnectionString: "localhost:5432/test" },
      "sse: listenConnectionString: has no postgres:// scheme",
    ],
    ["pool", { pool: { query: "no" } }, "sse: pool: must be a pg.Pool"],
    [
      "logger",
      { logger: { error() {} } },
      "sse: logger: must have error() and info() methods, or be false",
    ],
    [
      "timeoutMs",
      { timeoutMs: 0 },
      "sse: timeoutMs: must be a positive integer (milliseconds), got 0",
    ],
    ["timeoutMs", { timeoutMs: "2000" }, 'got "2000"'],
    ["maxPending", { maxPending: 1.5 }, "sse: maxPending: must be a positive integer (events)"],
    ["maxReplays", { maxReplays: -1 }, "sse: maxReplays: must be a positive integer (replays)"],
    [
      "presenceTtlMs",
      { presenceTtlMs: 0 },
      "sse: presenceTtlMs: must be a positive integer (milliseconds), got 0",
    ],
    [
      "historySize",
      { historySize: 100 },
      "sse: historySize: is not an option of postgresBackplane, got 100 — known: connectionString, pool, listenConnectionString, prefix, logger, timeoutMs, retentionMs, maxPending, maxReplays, presenceTtlMs",
    ],
    [
      "connectionstring",
      { connectionstring: "postgres://127.0.0.1/test" },
      'sse: connectionstring: is not an option of postgresBackplane, got "postgres://127.0.0.1/test" (a string) — did you mean `connectionString`?',
    ],
  ])("%s: %j throws SSEOptionError naming it", (option, options, message) => {
    let thrown: unknown;
    try {
      postgresBackplane(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(SSEOptionError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ name: "SSEOptionError", option });
    expect((thrown as Error).message).toContain(message);
  });

  it("accepts every form node-postgres reads, and never shows a password when it refuses one", () => {
    for (const connectionString of [
      "postgres://app:secret@127.0.0.1:5432/test",
      "postgresql://app@db.internal/test?application_name=x",
      "postgres://",
      "socket:/var/run/postgresql?db=test",
      "/var/run/postgresql test",
    ]) {
      expect(() => postgresBackplane({ connectionString, logger: false })).not.toThrow();
    }
    for (const connectionString of [
      "postgres://app:s3cr%t@127.0.0.1:70000/test",
      "user=app password=s3cr%t host=x",
    ]) {
      const thrown = thrownBy(() => postgresBackplane({ connectionString }));
      expect(SSEOptionError.isInstance(thrown)).toBe(true);
      expect(String((thrown as Error).message)).not.toContain("s3cr");
      expect(String((thrown as SSEOptionError).value)).not.toContain("s3cr");
    }
  });

  it("refuses a pool together with a connection string, and says why", () => {
    const pool = new pg.Pool();
    expect(() =>
      postgresBackplane({ pool, connectionString: "postgres://127.0.0.1/test" }),
    ).toThrow("sse: connectionString: give either connectionString or pool, not both");
    void pool.end();
  });

  it("has documented defaults, and connects nothing before a broker attaches it", () => {
    expect([DEFAULT_PREFIX, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_PENDING, DEFAULT_MAX_REPLAYS]).toEqual([
      "burrow_sse_",
      2000,
      10_000,
      4,
    ]);
    const backplane = new PostgresBackplane();
    expect(backplane.stats()).toMatchObject({ state: "connecting", topics: 0, pending: 0 });
  });

  it("a backplane closed before a broker attaches it stays closed and connects nothing", async () => {
    const backplane = postgresBackplane({ logger: false });
    await backplane.close();
    const broker = new EventBroker({ backplane });
    expect(broker.stats().backplane?.state).toBe("closed");
    broker.close();
  });
});
