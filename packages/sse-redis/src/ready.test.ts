// backplane.ready() (issue 23, item 4): resolves once the link is ready;
// rejects with core's SSEBackplaneError of kind "configuration" as soon as
// Redis refuses the configuration, "timeout" when Redis is unreachable for
// timeoutMs, "closed" when closed first; against the real Redis and a
// private redis-server that requires a password.
import { EventBroker, SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  describeRedis,
  freePort,
  hasRedisServer,
  killServers,
  type PrivateRedis,
  privateRedis,
  REDIS_URL,
  uniquePrefix,
} from "./fixtures/harness.js";
import { DEFAULT_READY_TIMEOUT_MS, RedisBackplane, type RedisBackplaneOptions } from "./index.js";

const noRedisServer = !hasRedisServer();
const brokers: EventBroker[] = [];
const backplanes: RedisBackplane[] = [];

afterEach(async () => {
  for (const broker of brokers.splice(0)) broker.close();
  await Promise.all(backplanes.splice(0).map((backplane) => backplane.close()));
});

/** A backplane on `url` (silent, retrying every 50 ms), attached to a broker unless `attach` is false. */
function backplaneOn(url: string, options: RedisBackplaneOptions = {}, attach = true) {
  const logs: string[] = [];
  const backplane = new RedisBackplane({
    url,
    prefix: uniquePrefix(),
    redis: { retryStrategy: () => 50 },
    logger: { error: (m) => logs.push(m), info: (m) => logs.push(m) },
    ...options,
  });
  backplanes.push(backplane);
  if (attach) brokers.push(new EventBroker({ historySize: 10, backplane }));
  return { backplane, logs };
}

/** What `promise` rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<SSEBackplaneError> {
  const error = await promise.then(
    () => expect.unreachable("resolved"),
    (error: unknown) => error,
  );
  expect(SSEBackplaneError.isInstance(error)).toBe(true);
  return error as SSEBackplaneError;
}

describeRedis("backplane.ready()", () => {
  it("resolves once the link is ready, and at once when it is", async () => {
    const { backplane } = backplaneOn(REDIS_URL);
    expect(backplane.stats().state).toBe("connecting");
    await backplane.ready();
    expect(backplane.stats().state).toBe("ready");
    await backplane.ready({ timeoutMs: 0 });
    expect(DEFAULT_READY_TIMEOUT_MS).toBe(10_000);
  });

  it("called before the broker attaches the backplane, waits for the connection it then opens", async () => {
    const { backplane } = backplaneOn(REDIS_URL, {}, false);
    const ready = backplane.ready({ timeoutMs: Number.POSITIVE_INFINITY });
    brokers.push(new EventBroker({ historySize: 10, backplane }));
    await ready;
    expect(backplane.stats().state).toBe("ready");
  });

  it("Redis unreachable: rejects with kind timeout after timeoutMs, the connection's error as cause; an outage, logged as one", async () => {
    const port = await freePort();
    const { backplane, logs } = backplaneOn(`redis://127.0.0.1:${port}`);
    const started = Date.now();
    const error = await rejection(backplane.ready({ timeoutMs: 300 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(error).toMatchObject({
      kind: "timeout",
      message: expect.stringMatching(
        new RegExp(
          `^sse: Redis at redis://127\\.0\\.0\\.1:${port} was not ready within 300 ms \\(connect ECONNREFUSED`,
        ),
      ),
      cause: expect.objectContaining({ code: "ECONNREFUSED" }),
    });
    expect(backplane.stats().state).toBe("down");
    expect(logs).toEqual([
      expect.stringContaining(`Redis at redis://127.0.0.1:${port} is unreachable`),
    ]);
  });

  it("closed first: rejects with kind closed, and at once once closed", async () => {
    const { backplane } = backplaneOn(`redis://127.0.0.1:${await freePort()}`);
    const waiting = rejection(backplane.ready({ timeoutMs: Number.POSITIVE_INFINITY }));
    await backplane.close();
    const message = expect.stringMatching(/^sse: the Redis backplane was closed before Redis at/);
    expect(await waiting).toMatchObject({ kind: "closed", message });
    expect(await rejection(backplane.ready())).toMatchObject({ kind: "closed", message });
  });

  it("a timeoutMs that is not a number of milliseconds: SSEOptionError", async () => {
    const { backplane } = backplaneOn(REDIS_URL);
    for (const timeoutMs of [-1, Number.NaN, "5000"]) {
      const error = await backplane.ready({ timeoutMs: timeoutMs as number }).catch((e) => e);
      expect(SSEOptionError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ option: "timeoutMs" });
    }
  });
});

describeRedis("backplane.ready() on a Redis that refuses the configuration", () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    if (noRedisServer) return;
    redis = privateRedis(await freePort(), { password: "s3cret", args: ["--databases", "2"] });
    await redis.start();
  });
  afterAll(() => killServers());

  const refused = (url: () => string, command: string, answer: string) => async () => {
    const { backplane, logs } = backplaneOn(url());
    // Without a timeout: only the configuration error ends the wait.
    const error = await rejection(backplane.ready({ timeoutMs: Number.POSITIVE_INFINITY }));
    expect(error.kind).toBe("configuration");
    expect(error.message).toMatch(/^sse: configuration refused by Redis at redis:\/\//);
    expect(error.message).toContain(`(${command}: ${answer}); fix the url/credentials: `);
    expect(error.cause).toMatchObject({ name: "ReplyError", message: answer });
    expect(error.message).not.toContain("s3cret");
    // Still refused: a new call rejects at once, with the same cause.
    expect((await rejection(backplane.ready())).cause).toMatchObject({ message: answer });
    expect(backplane.stats()).toMatchObject({ state: "down", errors: 1, lastError: answer });
    expect(logs).toEqual([
      `sse-redis: ${error.message.slice(5)}; retrying, and meanwhile events published on this process reach its own clients only`,
    ]);
  };

  it.skipIf(noRedisServer)(
    "a wrong password: kind configuration at once, cause Redis's WRONGPASS",
    refused(
      () => `redis://:wrong@127.0.0.1:${redis.port}`,
      "AUTH",
      "WRONGPASS invalid username-password pair or user is disabled.",
    ),
  );

  it.skipIf(noRedisServer)(
    "no password: kind configuration, cause NOAUTH",
    refused(() => `redis://127.0.0.1:${redis.port}`, "INFO", "NOAUTH Authentication required."),
  );

  it.skipIf(noRedisServer)(
    "a database past the server's databases: kind configuration, cause the refused SELECT",
    refused(() => `${redis.url}/2`, "SELECT", "ERR DB index is out of range"),
  );
});
