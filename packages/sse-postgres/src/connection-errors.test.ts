// Configuration errors are not outages: a database that does not exist and
// a role that does not exist (the shared PostgreSQL answers them), a
// password refused (a proxy answering the connection as PostgreSQL does, the
// shared one trusting every local user), told apart from an outage in the
// log, once per distinct cause however often retried; `ready()` rejects with
// kind "configuration" and pg's error as its cause.
import { randomBytes } from "node:crypto";
import { EventBroker, SSEBackplaneError } from "@burrow/sse-core";
import { recordEvents, rejectionOf, type TcpProxy, tcpProxy, waitFor } from "@burrow/test-utils";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { configurationFix } from "./connection-errors.js";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  killServers,
  startPostgresServer,
  uniquePrefix,
} from "./fixtures/harness.js";
import { type PostgresBackplane, postgresBackplane } from "./index.js";

/** A PostgreSQL ErrorResponse (FATAL), as the server answers a connection it refuses. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, "utf8");
  const head = Buffer.alloc(5);
  head.write("E", 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** `DATABASE_URL` with another database or user. */
function urlWith(change: { database?: string; user?: string }): string {
  const url = new URL(DATABASE_URL);
  if (change.database !== undefined) url.pathname = `/${change.database}`;
  if (change.user !== undefined) url.username = change.user;
  return url.toString();
}

const prefixes: string[] = [];
const brokers: EventBroker[] = [];

/** A broker on a backplane logging into `lines` ("error …" / "info …"). */
function start(connectionString: string, lines: string[]): PostgresBackplane {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const backplane = postgresBackplane({
    connectionString,
    prefix,
    logger: {
      error: (message) => lines.push(`error ${message}`),
      info: (message) => lines.push(`info ${message}`),
    },
  });
  brokers.push(new EventBroker({ historySize: 10, backplane }));
  return backplane;
}

/** What `promise` rejects with, checked to be an `SSEBackplaneError`. */
async function rejection(promise: Promise<unknown>): Promise<SSEBackplaneError> {
  const error = await rejectionOf(promise);
  expect(SSEBackplaneError.isInstance(error)).toBe(true);
  return error as SSEBackplaneError;
}

const proxies: TcpProxy[] = [];

/**
 * A proxy to `target` that counts connection attempts (the listener's and
 * the probe's, each retried) and answers each as `refusal()` says now:
 * passed through, or refused with that SQLSTATE and message, as PostgreSQL
 * refuses a connection.
 */
async function proxyTo(
  target: string,
  refusal: () => [code: string, message: string] | undefined = () => undefined,
): Promise<{ url: string; attempts(n: number): Promise<void> }> {
  let attempts = 0;
  const proxy = await tcpProxy(target, (client) => {
    attempts++;
    return (chunk) => {
      const refused = refusal();
      if (refused === undefined) client.write(chunk);
      else client.end(errorResponse(...refused));
    };
  });
  proxies.push(proxy);
  return {
    url: proxy.url,
    /** Waits for `n` more connection attempts: the backplane retried, and would have logged. */
    attempts: async (n) => {
      const target = attempts + n;
      await waitFor(() => attempts >= target, `${n} more connection attempts`);
    },
  };
}

describePostgres("configuration errors (shared PostgreSQL)", () => {
  afterEach(() => {
    for (const broker of brokers.splice(0)) broker.close();
    killServers();
    for (const proxy of proxies.splice(0)) proxy.close();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(prefix);
  });

  it("a database that does not exist: ready() rejects (configuration, pg's 3D000 as cause), logged once however often retried, never as unreachable", async () => {
    const database = `nope_${randomBytes(4).toString("hex")}`;
    const lines: string[] = [];
    const { url, attempts } = await proxyTo(urlWith({ database }));
    const backplane = start(url, lines);
    const error = await rejection(backplane.ready({ timeoutMs: 5000 }));
    const line = `configuration refused by PostgreSQL at ${url}: database "${database}" does not exist (3D000); fix the database name in the connection string, or create the database`;
    expect(error).toMatchObject({
      kind: "configuration",
      message: `sse: postgresBackplane: ${line}`,
    });
    expect(error.cause).toMatchObject({ code: "3D000" });
    await attempts(6);
    expect(lines).toEqual([`error sse-postgres: ${line}`]);
    expect(backplane.stats()).toMatchObject({ state: "down", errors: 1 });
    // Asked again while it holds: at once.
    expect((await rejection(backplane.ready())).kind).toBe("configuration");
  });

  it("a role that does not exist (28000): refused, named with its fix, once", async () => {
    const lines: string[] = [];
    const user = `nobody_${randomBytes(4).toString("hex")}`;
    const { url, attempts } = await proxyTo(urlWith({ user }));
    const backplane = start(url, lines);
    const error = await rejection(backplane.ready({ timeoutMs: 5000 }));
    expect(error.kind).toBe("configuration");
    expect(error.cause).toMatchObject({ code: "28000" });
    await attempts(6);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^error sse-postgres: configuration refused by PostgreSQL at .*: role "${user}" does not exist \\(28000\\); fix the user name in the connection string`,
      ),
    );
  });

  it("a password refused (28P01), then a database missing (3D000): one line per distinct cause; retried until the server accepts, then the link says it reconnected", async () => {
    let answer: "28P01" | "3D000" | "through" = "28P01";
    const messages = {
      "28P01": 'password authentication failed for user "app"',
      "3D000": 'database "app" does not exist',
    };
    const proxy = await proxyTo(DATABASE_URL, () =>
      answer === "through" ? undefined : [answer, messages[answer]],
    );
    const lines: string[] = [];
    const backplane = start(proxy.url, lines);
    const error = await rejection(backplane.ready({ timeoutMs: 5000 }));
    expect(error).toMatchObject({ kind: "configuration", cause: { code: "28P01" } });
    await proxy.attempts(6);
    expect(lines).toHaveLength(1);
    answer = "3D000";
    await proxy.attempts(6);
    expect(lines).toEqual([
      `error sse-postgres: configuration refused by PostgreSQL at ${proxy.url}: password authentication failed for user "app" (28P01); fix the user name or password in the connection string`,
      `error sse-postgres: configuration refused by PostgreSQL at ${proxy.url}: database "app" does not exist (3D000); fix the database name in the connection string, or create the database`,
    ]);
    answer = "through";
    // ready() rejects at once while the refusal holds; the retries go on meanwhile.
    await waitFor(() => backplane.stats().state === "ready", "the link to be ready");
    await backplane.ready({ timeoutMs: 0 });
    expect(lines.slice(2)).toEqual([
      `info sse-postgres: reconnected to PostgreSQL at ${proxy.url}; 0 event(s) published here meanwhile reached this process's clients only`,
    ]);
  });

  it("a server process on a database that does not exist logs one configuration line on stderr, and serves its own clients", async () => {
    const database = `nope_${randomBytes(4).toString("hex")}`;
    const { url, attempts } = await proxyTo(urlWith({ database }));
    const server = await startPostgresServer({ prefix: uniquePrefix(), url });
    await waitFor(() => server.stderr.includes("configuration refused"), "the configuration line");
    const client = recordEvents(`${server.url}/events?topics=x`, ["x"]);
    await client.opened;
    await server.publish("x", "local");
    await client.waitForCount(1);
    client.close();
    await attempts(6);
    const lines = server.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `[error] sse-postgres: configuration refused by PostgreSQL at ${url}: database "${database}" does not exist (3D000)`,
    );
    expect(server.child.exitCode).toBe(null);
  });
});

describe("configurationFix", () => {
  it.each([
    [{ code: "3D000" }, "fix the database name"],
    [{ code: "28P01" }, "fix the user name or password"],
    [{ code: "28000" }, "pg_hba.conf"],
    [{ code: "28999" }, "pg_hba.conf"],
    [{ code: "42501" }, "grant the role"],
    [{ message: "The server does not support SSL connections" }, "sslmode=disable"],
    [
      { message: "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string" },
      "give the password",
    ],
    [{ code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: "self-signed certificate" }, "SSL settings"],
  ])("%j is a configuration error: %s", (error, fix) => {
    expect(configurationFix(error)).toContain(fix);
  });

  it.each([
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:5432" }],
    [{ code: "57P03", message: "the database system is starting up" }],
    [{ code: "53300", message: "sorry, too many clients already" }],
    [{ code: "55P03", message: "canceling statement due to lock timeout" }],
    [{ message: "Connection terminated unexpectedly" }],
    [undefined],
  ])("%j is not", (error) => {
    expect(configurationFix(error)).toBe(undefined);
  });
});
