/**
 * Test helpers for code that needs Redis: find it (skip without it, fail
 * under `CI=true`), give each run its own key prefix, and delete its keys.
 * A subpath of its own, so that only tests that need Redis connect to it.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { describeWithService } from "./services.js";

/** The Redis the tests use. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Why Redis cannot be used, or undefined when it answers PING. */
export async function redisUnavailable(url = REDIS_URL): Promise<string | undefined> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  let cause: Error | undefined;
  probe.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (error) {
    return `no Redis at ${url} (${(cause ?? (error as Error)).message})`;
  } finally {
    probe.disconnect();
  }
}

const unavailable = await redisUnavailable();

/**
 * `describe` for tests that need Redis: skipped with the reason when there is
 * none, except under `CI=true`, where a missing Redis fails the run.
 */
export function describeRedis(name: string, body: () => void): void {
  describeWithService(unavailable, "Redis", "set REDIS_URL", name, body);
}

/** A prefix no other test run uses. */
export function uniquePrefix(): string {
  return `burrow-sse-test:${randomBytes(6).toString("hex")}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
