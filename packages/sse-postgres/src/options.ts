import { SSEOptionError } from "@burrow/sse-core";
import {
  type BackplaneLogger,
  checkKeys,
  loggerOption,
  optionKeys,
  positiveIntegerOption,
} from "@burrow/sse-core/adapter";
import type { Pool } from "pg";
import {
  CONNECTION_STRING_EXAMPLE,
  connectionStringProblem,
  hidePassword,
} from "./connection-string.js";

/** Where the backplane reports its state changes: `console` fits, so do most loggers. */
export type { BackplaneLogger };

/** Options of {@link postgresBackplane}. */
export interface PostgresBackplaneOptions {
  /**
   * The database, as a `postgres://` (or `postgresql://`, `socket:`) URL.
   * One node-postgres cannot use (a libpq `key=value` list, no scheme, a
   * port out of range) throws `SSEOptionError` at creation. Without it (and
   * without `pool`), node-postgres's defaults apply: the `PGHOST`, `PGPORT`,
   * `PGDATABASE`, `PGUSER` and `PGPASSWORD` environment variables, else
   * `localhost:5432`. Give either this or `pool`, not both.
   * @default undefined
   */
  connectionString?: string;
  /**
   * Your app's own `pg.Pool`, used for publishing and reading history
   * (`close()` leaves it open). The listening connection is a separate
   * client made from `listenConnectionString`, else from this pool's options.
   * Give it `connectionTimeoutMillis`, or a hung database can keep a publish
   * waiting for a connection (the backplane still stops waiting after
   * `timeoutMs`).
   * @default undefined
   */
  pool?: Pool;
  /**
   * A direct connection to the same database for `LISTEN`, when publishing
   * goes through a transaction-pooling PgBouncer (which cannot keep a
   * `LISTEN` alive). Same formats as `connectionString`.
   * @default the connection that publishes
   */
  listenConnectionString?: string;
  /**
   * Prefix of every table, function and notification channel the backplane
   * creates: a lowercase SQL name start (`a`-`z`, `0`-`9`, `_`, not starting
   * with a digit, at most 30 characters with the `_` that ends it). One that
   * does not end in `_` gets one appended (`"myapp"` names the tables
   * `myapp_meta`..., not `myappmeta`). Brokers that share a database and a
   * prefix share one topic space; use another prefix per app or environment.
   * @default "burrow_sse_"
   */
  prefix?: string;
  /**
   * Where state changes are reported, once per change (never per event);
   * `false` reports nothing (read `broker.stats().backplane` instead).
   * @default console
   */
  logger?: BackplaneLogger | false;
  /**
   * How long PostgreSQL may leave a statement or a connection attempt
   * unanswered, in milliseconds. Every statement runs with this
   * `statement_timeout` and `lock_timeout` (a lock held by a slow query), and
   * is abandoned by the client a moment after (a tenth more, 50 ms to 1 s,
   * so that the server's own cancel is told apart from a hung server or a
   * network cut without a reset); the listening connection is sent
   * `SELECT 1` every `timeoutMs / 2` while idle. Either failure turns the
   * state `"down"`: a hang is noticed within `2 * timeoutMs`. A replay or
   * `latest()` unanswered this long settles as a miss.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * How long events are kept at most, in milliseconds, whatever
   * `historySize` says: every `min(retentionMs / 4, 10 minutes)` each
   * process deletes the older ones, so that topics no longer published to
   * (one per record, per user...) do not keep rows forever. A resume from
   * before the cut is a signalled miss.
   * @default 86400000 (24 hours)
   */
  retentionMs?: number;
  /**
   * Most events waiting for PostgreSQL (queued or in the statement being
   * sent) while it does not answer: once events wait and no statement has
   * come back for two checks in a row (`timeoutMs / 4` apart, 50 ms to 1 s),
   * a publish past `maxPending` is not sent: it is delivered on this process
   * only, at once, and counted in `stats().backplane.overflow`. While
   * PostgreSQL answers, a burst waits its turn, up to ten times
   * `maxPending`. Once it answers again, a gap marker per topic concerned
   * tells every other process (their `stats().backplane.gaps`), which
   * repairs its clients of those topics (a snapshot, a state topic's latest
   * event). Bounds the memory held for a slow or hung database.
   * @default 10000
   */
  maxPending?: number;
  /**
   * Most history reads for replays (resumes with `Last-Event-ID`) at once on
   * this process: the ceiling of a limit that adapts to how fast PostgreSQL
   * answers (fewer while reads slow down). Each read serves every replay of
   * its topic waiting; the others wait for the next, and one whose client
   * leaves while waiting reads nothing. Bounds what resuming clients cost the database.
   * @default 4
   */
  maxReplays?: number;
  /**
   * Presence (the broker's members, see `@burrow/sse-core`'s presence): how
   * long a process's members stay listed after its last heartbeat, in
   * milliseconds. Each process renews its members every `presenceTtlMs / 3`;
   * one that dies has its members announced as left by a live one within
   * `presenceTtlMs` plus a third of it (plus a statement's `timeoutMs`). A
   * process cut off from PostgreSQL longer than this is announced as left,
   * and its members as joined again when it is back.
   * @default 15000
   */
  presenceTtlMs?: number;
}

/** Default prefix of tables, functions and channels. */
export const DEFAULT_PREFIX = "burrow_sse_";

/** Default {@link PostgresBackplaneOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 2000;

/** Default {@link PostgresBackplaneOptions.retentionMs}: 24 hours. */
export const DEFAULT_RETENTION_MS = 86_400_000;

/** Default {@link PostgresBackplaneOptions.maxPending}. */
export const DEFAULT_MAX_PENDING = 10_000;

/** Default {@link PostgresBackplaneOptions.maxReplays}. */
export const DEFAULT_MAX_REPLAYS = 4;

/** Default {@link PostgresBackplaneOptions.presenceTtlMs}. */
export const DEFAULT_PRESENCE_TTL_MS = 15_000;

/** The options, checked, with defaults. @internal */
export interface ResolvedOptions {
  connectionString: string | undefined;
  pool: Pool | undefined;
  listenConnectionString: string | undefined;
  prefix: string;
  logger: BackplaneLogger | undefined;
  timeoutMs: number;
  retentionMs: number;
  maxPending: number;
  maxReplays: number;
  presenceTtlMs: number;
}

/** Every key of {@link PostgresBackplaneOptions} (a key missing here, or not an option, fails to compile). */
const KNOWN = optionKeys<PostgresBackplaneOptions>()([
  "connectionString",
  "pool",
  "listenConnectionString",
  "prefix",
  "logger",
  "timeoutMs",
  "retentionMs",
  "maxPending",
  "maxReplays",
  "presenceTtlMs",
]);

/**
 * Checks `options` and fills in defaults; a bad one throws core's
 * `SSEOptionError` naming it. @internal
 */
export function resolveOptions(options: PostgresBackplaneOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError("options", "postgresBackplane takes an options object", options);
  }
  checkKeys(options, KNOWN, "an option of postgresBackplane");
  const {
    connectionString,
    pool,
    listenConnectionString,
    prefix = DEFAULT_PREFIX,
    logger = console,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    retentionMs = DEFAULT_RETENTION_MS,
    maxPending = DEFAULT_MAX_PENDING,
    maxReplays = DEFAULT_MAX_REPLAYS,
    presenceTtlMs = DEFAULT_PRESENCE_TTL_MS,
  } = options;
  optionalConnection("connectionString", connectionString);
  optionalConnection("listenConnectionString", listenConnectionString);
  if (
    pool !== undefined &&
    (typeof pool !== "object" ||
      pool === null ||
      typeof (pool as Partial<Pool>).query !== "function" ||
      typeof (pool as Partial<Pool>).connect !== "function")
  ) {
    throw new SSEOptionError("pool", "must be a pg.Pool (with query() and connect())", pool);
  }
  if (pool !== undefined && connectionString !== undefined) {
    throw new SSEOptionError(
      "connectionString",
      "give either connectionString or pool, not both (the pool already says where the database is)",
      connectionString,
    );
  }
  // "myapp" names tables myapp_meta..., never myappmeta.
  const separated = typeof prefix === "string" && !prefix.endsWith("_") ? `${prefix}_` : prefix;
  if (typeof separated !== "string" || !/^[a-z_][a-z0-9_]{0,29}$/.test(separated)) {
    throw new SSEOptionError(
      "prefix",
      "must be 1 to 30 characters of a-z, 0-9 and _ (with the _ appended when it does not end in one), not starting with a digit (it starts SQL table and channel names)",
      prefix,
    );
  }
  return {
    connectionString,
    pool,
    listenConnectionString,
    prefix: separated,
    logger: loggerOption(logger),
    timeoutMs: positiveIntegerOption("timeoutMs", timeoutMs, "milliseconds"),
    retentionMs: positiveIntegerOption("retentionMs", retentionMs, "milliseconds"),
    maxPending: positiveIntegerOption("maxPending", maxPending, "events"),
    maxReplays: positiveIntegerOption("maxReplays", maxReplays, "replays"),
    presenceTtlMs: positiveIntegerOption("presenceTtlMs", presenceTtlMs, "milliseconds"),
  };
}

/**
 * Checks a connection string option: unset, or one node-postgres can use
 * (see {@link connectionStringProblem}); else an SSEOptionError naming it,
 * showing the value without its password, with the form to write it in.
 */
function optionalConnection(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "string" || value.trim() === "") {
    throw new SSEOptionError(
      name,
      `must be a connection string ("${CONNECTION_STRING_EXAMPLE}")`,
      value,
    );
  }
  const problem = connectionStringProblem(value);
  if (problem !== undefined) {
    throw new SSEOptionError(name, problem, hidePassword(value), {
      hint: `write it as ${CONNECTION_STRING_EXAMPLE}`,
    });
  }
}

/**
 * Where a connection string points, for messages: without its password nor
 * its parameters (which may hold secrets, e.g. `sslpassword`). @internal
 */
export function describeConnection(connectionString: string | undefined, pool?: Pool): string {
  if (connectionString === undefined) {
    const options = (pool as { options?: Record<string, unknown> } | undefined)?.options;
    if (typeof options?.connectionString === "string") {
      return describeConnection(options.connectionString);
    }
    const host = options?.host ?? process.env.PGHOST ?? "localhost";
    const port = options?.port ?? process.env.PGPORT ?? 5432;
    const database = options?.database ?? process.env.PGDATABASE ?? "";
    return `postgres://${String(host)}:${String(port)}/${String(database)}`;
  }
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = "***";
    url.search = "";
    url.hash = "";
    return url.toString();
  } catch {
    return "(connection string)";
  }
}
