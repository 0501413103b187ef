// The storm's backplanes: the in-memory broker (none), Redis and PostgreSQL on
// this machine, each run under a prefix of its own that is deleted afterwards
// (Redis keys, PostgreSQL tables and functions), so runs never see each
// other's events.

import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBurrow } from "./load.mjs";

const env = process.env;
export const DATABASE_URL = env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = env.REDIS_URL || "redis://127.0.0.1:6379";
export const ENGINES = ["floor", "memory", "redis", "postgres"];

/** A prefix no other run uses: `storm:<hex>:` on Redis, `storm_<hex>_` on PostgreSQL. */
export function freshPrefix(engine) {
  const hex = randomBytes(4).toString("hex");
  return engine === "postgres" ? `storm_${hex}_` : `storm:${hex}:`;
}

/**
 * The backplane of `engine` under `prefix`, from `checkout`'s build (this
 * checkout's when undefined), with its default options but `extra`;
 * `undefined` for "memory".
 */
export async function createBackplane(engine, prefix, checkout, extra = {}) {
  if (engine === "memory" || engine === "floor") return undefined;
  if (engine === "redis") {
    const { redisBackplane } = await loadBurrow("@burrow/sse-redis", checkout);
    return redisBackplane({ url: REDIS_URL, prefix, ...extra });
  }
  if (engine === "postgres") {
    const { postgresBackplane } = await loadBurrow("@burrow/sse-postgres", checkout);
    return postgresBackplane({ connectionString: DATABASE_URL, prefix, ...extra });
  }
  throw new Error(
    `bench storm: unknown backplane ${JSON.stringify(engine)} (${ENGINES.join(", ")})`,
  );
}

/** ioredis, as sse-redis depends on it (the bench itself does not). */
function ioredis() {
  const here = dirname(fileURLToPath(import.meta.url));
  const require = createRequire(join(here, "../../packages/sse-redis/package.json"));
  return require("ioredis");
}

/** Deletes what a run left under `prefix`: every Redis key, or every PostgreSQL table and function. */
export async function dropPrefix(engine, prefix) {
  if (engine === "redis") {
    const Redis = ioredis();
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
    redis.disconnect();
  } else if (engine === "postgres") {
    const pg = (await import("pg")).default;
    const client = new pg.Client(DATABASE_URL);
    await client.connect();
    const like = `${prefix.replaceAll("_", "\\_")}%`;
    const tables = await client.query(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1",
      [like],
    );
    for (const { name } of tables.rows) await client.query(`DROP TABLE IF EXISTS ${name} CASCADE`);
    const functions = await client.query(
      "SELECT p.oid::regprocedure::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() AND p.proname LIKE $1",
      [like],
    );
    for (const { name } of functions.rows) await client.query(`DROP FUNCTION IF EXISTS ${name}`);
    await client.end();
  }
}
