// Configuration errors are not outages (issue 23, item 4). A url that ioredis
// would misread is refused when the backplane is created; what Redis refuses
// in a connection's setup (a password, a database number, a permission) is
// logged once as a configuration error, never as "unreachable", however often
// it is retried, while the server process lives and serves its own clients;
// fixed on the server side, the link comes up by itself.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SSEOptionError } from "@burrow/sse-core";
import { rawClient, thrownBy, waitFor } from "@burrow/test-utils";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  connectionsReceived,
  describeRedis,
  freePort,
  hasRedisServer,
  killServers,
  type PrivateRedis,
  privateRedis,
  REDIS_URL,
  type ServerProcess,
  startRedisServer,
  uniquePrefix,
} from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

/** REDIS_URL with `path` (and query) instead of its own. */
function withPath(path: string): string {
  const url = new URL(REDIS_URL);
  return `${url.protocol}//${url.host}${path}`;
}

describe("a url that ioredis would misread is refused when the backplane is created", () => {
  it.each([
    ["/abc", 'its path, "/abc", must be a database number: a whole number from 0'],
    ["/1e1", 'its path, "/1e1", must be a database number'],
    ["/-1", 'its path, "/-1", must be a database number'],
    ["/0/1", 'its path, "/0/1", must be a database number'],
    ["/2147483648", 'its path, "/2147483648", must be a database number'],
    ["?db=abc", 'its db parameter, "abc", must be a database number'],
  ])("%s: SSEOptionError naming url, with the fix", (path, problem) => {
    const url = withPath(path);
    const thrown = thrownBy(() => redisBackplane({ url, logger: false }));
    expect(SSEOptionError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ option: "url", value: url });
    expect((thrown as Error).message).toContain(`sse: url: ${problem}`);
    expect((thrown as Error).message).toContain(
      '(0–15 on a Redis with the default "databases 16")',
    );
  });

  it("an unparsable URL, and a password with a stray %, are refused without showing the password", () => {
    const unparsable = thrownBy(() => redisBackplane({ url: "redis://:secret@[::1" }));
    expect(unparsable).toMatchObject({
      option: "url",
      value: "redis://:***@[::1",
      message: expect.stringMatching(/^sse: url: is not a parsable URL \(check the host, the port/),
    });
    const stray = thrownBy(() => redisBackplane({ url: "redis://:50%off@127.0.0.1:6379" }));
    expect(stray).toMatchObject({
      option: "url",
      value: "redis://:***@127.0.0.1:6379",
      message: expect.stringContaining(
        "sse: url: its password has a % that starts no percent-escape: write a literal % as %25",
      ),
    });
    for (const error of [unparsable, stray]) {
      expect(SSEOptionError.isInstance(error)).toBe(true);
      expect((error as Error).message).not.toMatch(/secret|50%off/);
    }
  });

  it("a database number in the redis options is checked too", () => {
    const thrown = thrownBy(() => redisBackplane({ redis: { db: Number.NaN } }));
    expect(thrown).toMatchObject({
      option: "redis.db",
      message: "sse: redis.db: must be a database number, a whole number from 0, got NaN",
    });
  });

  it("URLs that ioredis reads as written are accepted", () => {
    for (const path of ["", "/", "/0", "/15", "/01", "?db=3", "/0?family=4"]) {
      expect(() => redisBackplane({ url: withPath(path), logger: false })).not.toThrow();
    }
    expect(() => redisBackplane({ url: "redis://user:p%40ss@127.0.0.1:6379/2" })).not.toThrow();
  });
});

describeRedis("malformed urls in a process", () => {
  it("a process given each refuses them at creation and lives (before: an unhandled ReplyError for SELECT NaN, exit 1)", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/malformed-urls.mjs", import.meta.url));
    const urls = ["/abc", "?db=abc", "/ 1"].map(withPath);
    const run = promisify(execFile)(process.execPath, [fixture, ...urls], { timeout: 30_000 });
    const { code, stdout, stderr } = await run.then(
      (done) => ({ code: 0, ...done }),
      (failed: { code: number; stdout: string; stderr: string }) => failed,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.slice(0, 3).every((line) => line.startsWith("refused url: sse: url: "))).toBe(
      true,
    );
    expect(lines[3]).toBe("alive");
  });
});

const noRedisServer = !hasRedisServer();
const PASSWORD = "s3cret";

describeRedis("configuration refused by Redis, in a server process", () => {
  let redis: PrivateRedis;
  let admin: Redis;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    if (noRedisServer) return;
    redis = privateRedis(await freePort(), { password: PASSWORD, args: ["--databases", "2"] });
    await redis.start();
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    const exits = servers
      .splice(0)
      .map((server) => [server.child.exitCode, server.stop()] as const);
    // Each process lived through it all, and stops cleanly.
    for (const [before, after] of exits) expect([before, await after]).toEqual([null, 0]);
  });
  afterAll(() => {
    admin?.disconnect();
    killServers();
  });

  /** A server process on `url` of the private Redis, retrying every 50 ms. */
  async function serverOn(url: string, prefix = uniquePrefix()): Promise<ServerProcess> {
    const server = await startRedisServer({ prefix, redisUrl: url, retryMs: 50 });
    servers.push(server);
    return server;
  }

  /** Once `retried` counts ten more tries (of both connections) than now. */
  async function tenRetries(retried: () => Promise<number>): Promise<() => Promise<void>> {
    const before = await retried();
    return () => waitFor(async () => (await retried()) >= before + 20, "ten retries");
  }

  /** A server process on `url`, once its connections were refused ten times. */
  async function refusedServer(url: string): Promise<ServerProcess> {
    const retried = await tenRetries(() => connectionsReceived(redis.url));
    const server = await serverOn(url);
    await retried();
    return server;
  }

  /** Commands the private Redis refused for lack of permission (ACL LOG, counts summed). */
  async function denied(): Promise<number> {
    const entries = (await admin.call("ACL", "LOG")) as unknown[][];
    return entries.reduce((sum, entry) => sum + Number(entry[entry.indexOf("count") + 1]), 0);
  }

  /** `server`'s configuration lines: exactly one, and no outage line. */
  function refusalLine(server: ServerProcess): string {
    const lines = server.stderr.split("\n").filter(Boolean);
    expect(lines.filter((line) => line.includes("unreachable"))).toEqual([]);
    const refused = lines.filter((line) => line.includes("configuration refused"));
    expect(refused).toHaveLength(1);
    return refused[0]!;
  }

  /** The server is down, and its own clients still get what it publishes (without an id). */
  async function servesLocally(server: ServerProcess): Promise<void> {
    const client = rawClient(server.port, "/events?topics=x");
    await client.ready;
    expect(await server.publish("x", "local")).toBe(1);
    await waitFor(() => client.events.length === 1, "the local event");
    expect(client.events[0]).toMatchObject({ data: "local", id: undefined });
    client.close();
    const { backplane } = await server.stats();
    expect(backplane).toMatchObject({ state: "down", errors: 1 });
  }

  const address = () => `127.0.0.1:${redis.port}`;

  it.skipIf(noRedisServer)(
    "a wrong password: one configuration line, the process serves its own clients, and the link comes up once Redis accepts the password",
    async () => {
      const server = await refusedServer(`redis://:wrong@${address()}`);
      expect(refusalLine(server)).toBe(
        `[error] sse-redis: configuration refused by Redis at redis://:***@${address()} (AUTH: WRONGPASS invalid username-password pair or user is disabled.); fix the url/credentials: the user or password in the url (or redis.username / redis.password) is wrong; retrying, and meanwhile events published on this process reach its own clients only`,
      );
      await servesLocally(server);
      // Fixed on the server side: the default user gets that password too.
      await admin.call("ACL", "SETUSER", "default", ">wrong");
      try {
        await waitFor(async () => (await server.stats()).backplane.state === "ready", "ready");
        expect(server.stderr).toContain(
          `[info] sse-redis: reconnected to Redis at redis://:***@${address()}; 1 event(s) published here meanwhile`,
        );
      } finally {
        await admin.call("ACL", "SETUSER", "default", "<wrong");
      }
    },
  );

  it.skipIf(noRedisServer)(
    "no password where Redis requires one (NOAUTH): one configuration line saying so",
    async () => {
      const server = await refusedServer(`redis://${address()}`);
      expect(refusalLine(server)).toContain(
        `configuration refused by Redis at redis://${address()} (INFO: NOAUTH Authentication required.); fix the url/credentials: Redis requires a password: put it in the url`,
      );
      await servesLocally(server);
    },
  );

  it.skipIf(noRedisServer)(
    "a database past the server's databases: one configuration line, never ready, and nothing written to database 0 (before: ready on database 0 after a refused SELECT)",
    async () => {
      const prefix = uniquePrefix();
      const retried = await tenRetries(() => connectionsReceived(redis.url));
      const server = await serverOn(`${redis.url}/5`, prefix);
      // A presence member and a publish, which would land on database 0.
      const member = rawClient(server.port, "/events?topics=y&user=ann");
      await member.ready;
      await server.publish("y", "local");
      await retried();
      member.close();
      expect(refusalLine(server)).toContain(
        `configuration refused by Redis at redis://:***@${address()}/5 (SELECT: ERR DB index is out of range); fix the url/credentials: the database number in the url's path is past the server's "databases" setting (16 by default: 0–15)`,
      );
      expect((await server.stats()).backplane).toMatchObject({ state: "down", published: 0 });
      expect(await admin.keys(`${prefix}*`)).toEqual([]);
      await servesLocally(server);
    },
  );

  it.skipIf(noRedisServer)(
    "a user whose ACL forbids the backplane's scripts: one configuration line (NOPERM, EVAL or EVALSHA), retried, and ready once granted",
    async () => {
      await admin.call("ACL", "SETUSER", "limited", "on", ">pw", "~*", "&*", "+@all", "-eval");
      await admin.call("ACL", "SETUSER", "limited", "-evalsha");
      try {
        await admin.call("ACL", "LOG", "RESET");
        const retried = await tenRetries(denied);
        const server = await serverOn(`redis://limited:pw@${address()}`);
        await retried();
        expect(refusalLine(server)).toMatch(
          /\(EVAL(SHA)?: NOPERM this user has no permissions to run the 'eval(sha)?' command\); fix the url\/credentials: the url's user lacks a permission the backplane needs/,
        );
        await servesLocally(server);
        await admin.call("ACL", "SETUSER", "limited", "+eval", "+evalsha");
        await waitFor(async () => (await server.stats()).backplane.state === "ready", "ready");
        expect(server.stderr).toContain("[info] sse-redis: reconnected to Redis at");
      } finally {
        await admin.call("ACL", "DELUSER", "limited");
      }
    },
  );
});
