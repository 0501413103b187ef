import type { RedisOptions } from "ioredis";

/** Where the backplane reports its state changes: `console` fits, so do most loggers. */
export interface BackplaneLogger {
  /** The link went down, or could not come up. */
  error(message: string): void;
  /** The link is back. */
  info(message: string): void;
}

/** Options of {@link redisBackplane}. */
export interface RedisBackplaneOptions {
  /**
   * The Redis server, as a `redis://` or `rediss://` URL (user, password and
   * database number included).
   * @default "redis://127.0.0.1:6379"
   */
  url?: string;
  /**
   * ioredis options for both connections (TLS, Sentinel, `retryStrategy`,
   * `connectionName`...). The backplane sets its own queueing options
   * (`enableOfflineQueue`, `maxRetriesPerRequest`,
   * `autoResendUnfulfilledCommands`, `autoResubscribe`), so that a publish is
   * never sent twice nor late.
   * @default {}
   */
  redis?: RedisOptions;
  /**
   * Prefix of every key and channel the backplane uses. Brokers that share a
   * prefix share one topic space; use another prefix per app or environment
   * on a shared Redis.
   * @default "burrow-sse:"
   */
  prefix?: string;
  /**
   * Where state changes are reported, once per change (never per event);
   * `false` reports nothing (read `broker.stats().backplane` instead).
   * @default console
   */
  logger?: BackplaneLogger | false;
}

/** Default Redis URL. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Default prefix of keys and channels. */
export const DEFAULT_PREFIX = "burrow-sse:";

/** The options, checked; a TypeError names the bad one. @internal */
export interface ResolvedOptions {
  url: string;
  redis: RedisOptions;
  prefix: string;
  logger: BackplaneLogger | undefined;
}

/** Checks `options` (TypeError naming the field) and fills in defaults. @internal */
export function resolveOptions(options: RedisBackplaneOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("sse-redis: options: must be an object");
  }
  const {
    url = DEFAULT_REDIS_URL,
    redis = {},
    prefix = DEFAULT_PREFIX,
    logger = console,
  } = options;
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    throw new TypeError(`sse-redis: url: must be a redis:// or rediss:// URL, got ${String(url)}`);
  }
  if (typeof redis !== "object" || redis === null) {
    throw new TypeError("sse-redis: redis: must be an ioredis options object");
  }
  if (typeof prefix !== "string") {
    throw new TypeError(`sse-redis: prefix: must be a string, got ${typeof prefix}`);
  }
  if (
    logger !== false &&
    (typeof logger !== "object" ||
      logger === null ||
      typeof logger.error !== "function" ||
      typeof logger.info !== "function")
  ) {
    throw new TypeError("sse-redis: logger: must have error() and info() methods, or be false");
  }
  return { url, redis, prefix, logger: logger === false ? undefined : logger };
}

/** The URL without its password, for messages. @internal */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "redis://(unparsable URL)";
  }
}
