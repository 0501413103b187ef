import { SSEOptionError } from "@burrow/sse-core";
import {
  type BackplaneLogger,
  checkKeys,
  loggerOption,
  optionKeys,
  positiveIntegerOption,
} from "@burrow/sse-core/adapter";
import type { RedisOptions } from "ioredis";
import {
  type RedisClusterOption,
  type ResolvedCluster,
  resolveCluster,
} from "./cluster-options.js";
import { checkRedisUrl } from "./redis-url.js";

/** Where the backplane reports its state changes: `console` fits, so do most loggers. */
export type { BackplaneLogger };

/** Options of {@link redisBackplane}. */
export interface RedisBackplaneOptions {
  /**
   * The Redis server, as a `redis://` or `rediss://` URL (user, password and
   * database number included). Checked when the backplane is created: a URL
   * that does not parse, a user or password with a stray `%` (write `%25`),
   * or a database number (the path, or `?db=`) that is not a whole number
   * throws `SSEOptionError`. A database the server does not have, or
   * credentials it refuses, are configuration errors once connected: see
   * {@link RedisBackplane.ready}.
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /**
   * ioredis options for both connections (TLS, Sentinel, `retryStrategy`,
   * `connectionName`...). The backplane sets its own queueing options
   * (`enableOfflineQueue`, `maxRetriesPerRequest`,
   * `autoResendUnfulfilledCommands`, `autoResubscribe`), so that a publish is
   * never sent twice nor queued until Redis is back.
   * @default {}
   */
  redis?: RedisOptions;
  /**
   * Prefix of every key and channel the backplane uses. Brokers that share a
   * prefix share one topic space; use another prefix per app or environment
   * on a shared Redis. One that ends in a letter or a digit gets a `:`
   * appended (`"myapp"` names keys `myapp:meta`, not `myappmeta`); one that
   * ends in another character (`:`, `-`, `.`...) or is empty is used as is.
   * @default "burrow-sse:"
   */
  prefix?: string;
  /**
   * Where state changes are reported, once per change (never per event);
   * `false` reports nothing (read `broker.stats().backplane` instead).
   * @default console
   */
  logger?: BackplaneLogger | false;
  /**
   * How long Redis may leave a connection without an answer, in
   * milliseconds. Each connection is sent a PING every `timeoutMs / 2`; one
   * that has a command or a PING unanswered and has received nothing for
   * `timeoutMs` (a hung server, a network cut without a reset) is closed and
   * reconnected, and the state is `"down"` meanwhile: a hang is noticed
   * within `2 * timeoutMs`. A replay or `latest()` unanswered this long
   * settles as a miss.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * Most publishes sent to Redis and not answered yet while it does not
   * answer: once publishes wait and no answer came for two checks in a row
   * (`timeoutMs / 4` apart, 50 ms to 1 s), a publish past `maxPending` is not
   * sent: it is delivered on this process only, at once, and counted in
   * `stats().backplane.overflow`. While Redis answers, a burst waits its
   * turn, up to ten times `maxPending`. Once it answers again, a gap marker
   * per topic concerned tells every other process (their
   * `stats().backplane.gaps`), which repairs its clients of those topics (a
   * snapshot, a state topic's latest event). Bounds the memory held for a
   * slow or hung Redis (each pending publish holds its event plus about
   * 3 KB).
   * @default 10000
   */
  maxPending?: number;
  /**
   * Most history reads for replays (resumes with `Last-Event-ID`) at once on
   * this process: the ceiling of a limit that adapts to how fast Redis
   * answers (fewer while reads slow down). Each read serves every replay of
   * its topic waiting; the others wait for the next, and one whose client
   * leaves while waiting reads nothing. Bounds what resuming clients cost Redis.
   * @default 4
   */
  maxReplays?: number;
  /**
   * Presence (the broker's members, see `@burrow/sse-core`'s presence): how
   * long a process's members stay listed on the other processes after its
   * last heartbeat (sent every third of it), in milliseconds. A process that
   * dies has its members announced as left within `presenceTtlMs` plus a
   * third of it, by the first live process that notices.
   * @default 15000
   */
  presenceTtlMs?: number;
  /**
   * Runs the backplane on a Redis Cluster (Redis 7 or later) instead of one
   * server: an ioredis `Cluster` client, or `{ nodes, options }`. Then
   * `url` must be left out, `prefix` must hold no `{` or `}`, and each
   * topic has an order of its own, shared with the topics of its hash tag
   * (see the README's "Redis Cluster" section). Use it with
   * `redisBackplane`, which returns a {@link RedisClusterBackplane}.
   */
  cluster?: RedisClusterOption;
}

/** Default Redis URL. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Default prefix of keys and channels. */
export const DEFAULT_PREFIX = "burrow-sse:";

/** Default {@link RedisBackplaneOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 2000;

/** Default {@link RedisBackplaneOptions.maxPending}. */
export const DEFAULT_MAX_PENDING = 10_000;

/** Default {@link RedisBackplaneOptions.presenceTtlMs}. */
export const DEFAULT_PRESENCE_TTL_MS = 15_000;

/** Default {@link RedisBackplaneOptions.maxReplays}. */
export const DEFAULT_MAX_REPLAYS = 4;

/** The options, checked, with defaults. @internal */
export interface ResolvedOptions {
  url: string;
  redis: RedisOptions;
  prefix: string;
  logger: BackplaneLogger | undefined;
  timeoutMs: number;
  maxPending: number;
  maxReplays: number;
  presenceTtlMs: number;
  /** The Redis Cluster, when given. */
  cluster: ResolvedCluster | undefined;
}

/** Every key of {@link RedisBackplaneOptions} (a key missing here, or not an option, fails to compile). */
const KNOWN = optionKeys<RedisBackplaneOptions>()([
  "url",
  "redis",
  "prefix",
  "logger",
  "timeoutMs",
  "maxPending",
  "maxReplays",
  "presenceTtlMs",
  "cluster",
]);

/**
 * Checks `options` and fills in defaults; a bad one throws core's
 * `SSEOptionError` naming it, showing the value, and saying what fits. @internal
 */
export function resolveOptions(options: RedisBackplaneOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError(
      "options",
      'redisBackplane takes an options object, e.g. { url: "redis://127.0.0.1:6379" }',
      options,
    );
  }
  checkKeys(options, KNOWN, "an option of redisBackplane");
  const cluster =
    options.cluster === undefined ? undefined : resolveCluster(options.cluster, options);
  const {
    url = DEFAULT_REDIS_URL,
    redis = {},
    prefix = DEFAULT_PREFIX,
    logger = console,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxPending = DEFAULT_MAX_PENDING,
    maxReplays = DEFAULT_MAX_REPLAYS,
    presenceTtlMs = DEFAULT_PRESENCE_TTL_MS,
  } = options;
  checkRedisUrl(url);
  if (typeof redis !== "object" || redis === null || Array.isArray(redis)) {
    throw new SSEOptionError("redis", "must be an ioredis options object, e.g. { tls: {} }", redis);
  }
  if (typeof (redis as { duplicate?: unknown }).duplicate === "function") {
    throw new SSEOptionError(
      "redis",
      "is an ioredis client, not options: pass a Redis.Cluster client as cluster, or one server's address as url",
      redis,
    );
  }
  const { db } = redis;
  if (db !== undefined && (!Number.isSafeInteger(db) || db < 0)) {
    // ioredis would send SELECT NaN (an unhandled rejection) or a SELECT Redis refuses.
    throw new SSEOptionError("redis.db", "must be a database number, a whole number from 0", db);
  }
  if (typeof prefix !== "string") {
    throw new SSEOptionError("prefix", 'must be a string, e.g. "myapp:"', prefix);
  }
  return {
    url,
    redis,
    prefix: withSeparator(prefix),
    logger: loggerOption(logger),
    timeoutMs: positiveIntegerOption("timeoutMs", timeoutMs, "milliseconds"),
    maxPending: positiveIntegerOption("maxPending", maxPending, "publishes"),
    maxReplays: positiveIntegerOption("maxReplays", maxReplays, "replays"),
    presenceTtlMs: positiveIntegerOption("presenceTtlMs", presenceTtlMs, "milliseconds"),
    cluster,
  };
}

/**
 * `prefix` ending in a separator: `:` appended to one that ends in a letter
 * or a digit, so that `"myapp"` gives `myapp:meta` and never `myappmeta`. @internal
 */
export function withSeparator(prefix: string): string {
  return /[\p{L}\p{N}]$/u.test(prefix) ? `${prefix}:` : prefix;
}
