/**
 * Configuration errors told apart from outages. An error that Redis answers
 * while a connection sets itself up (AUTH refused, a SELECT of a database
 * it does not have, a ready check it does not allow) will come back on every
 * retry: it is the configuration, not the network. ioredis would even go
 * on after a refused SELECT, on database 0; the {@link SetupGuard} closes
 * such a connection instead, so that it never becomes ready on the wrong
 * database, and ioredis retries it (the configuration may be fixed on the
 * server side). Internal.
 */
import type { Redis } from "ioredis";

/**
 * Error answers that say Redis is busy or changing (loading its data, running
 * a long script, failing over, full of clients), not that the configuration is wrong.
 */
const TRANSIENT =
  /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|OOM)\b|max number of clients/;

/**
 * Whether `error` is Redis answering that the configuration is wrong: an
 * error reply (ioredis's `ReplyError`, told by its name so that any copy of
 * ioredis counts) other than the transient ones above.
 */
export function isConfigurationError(error: Error): boolean {
  return error.name === "ReplyError" && !TRANSIENT.test(error.message);
}

/**
 * The configuration error `error` of the Redis at `safeUrl`, for logs and
 * `ready()`'s rejection: "configuration refused by Redis at <url>
 * (<command>: <answer>); fix the url/credentials: <what to change>".
 */
export function refusalMessage(safeUrl: string, error: Error): string {
  return `configuration refused by Redis at ${safeUrl} (${describeRefusal(error)}); fix the url/credentials: ${configurationFix(error)}`;
}

/** Redis's answers that have a known fix, and the fix. */
const FIXES: readonly (readonly [RegExp, string])[] = [
  [
    /^WRONGPASS|invalid password/,
    "the user or password in the url (or redis.username / redis.password) is wrong",
  ],
  [
    /^NOAUTH/,
    "Redis requires a password: put it in the url, e.g. redis://:password@host:6379 (or redis://user:password@host:6379)",
  ],
  [
    /^NOPERM/,
    "the url's user lacks a permission the backplane needs (see Redis's ACL LOG): grant it, or use another user",
  ],
  [
    /DB index is out of range/,
    `the database number in the url's path is past the server's "databases" setting (16 by default: 0–15)`,
  ],
  [
    /SELECT is not allowed in cluster mode|^(MOVED|ASK|CROSSSLOT)\b/,
    "this Redis is a node of a Redis Cluster: give its nodes as redisBackplane({ cluster: { nodes } }) instead of url",
  ],
  [
    /cluster support disabled/,
    "the servers in cluster.nodes are not a Redis Cluster: give one server's address as url instead of cluster",
  ],
  [
    /unknown command .(SSUBSCRIBE|SPUBLISH)/i,
    "a Redis Cluster backplane needs Redis 7 or later (sharded pub/sub: SSUBSCRIBE, SPUBLISH): upgrade the servers",
  ],
];

/** The fix for `error`, when Redis's answer has a known one. */
function knownFix(error: Error): string | undefined {
  return FIXES.find(([answer]) => answer.test(error.message))?.[1];
}

/** What to change for the configuration error `error`. */
function configurationFix(error: Error): string {
  return (
    knownFix(error) ?? "check the url and the redis options against the server's configuration"
  );
}

/**
 * What a log tells once: the fix, for an answer that has a known one (so
 * NOPERM for EVAL, then for EVALSHA, is one cause), else the answer itself.
 */
export function refusalCause(error: Error): string {
  return knownFix(error) ?? error.message;
}

/** The command Redis refused (when ioredis says which) and its answer. */
function describeRefusal(error: Error): string {
  const name = (error as { command?: { name?: unknown } }).command?.name;
  const command = typeof name === "string" ? `${name.toUpperCase()}: ` : "";
  return `${command}${error.message}`;
}

/**
 * Watches one connection's setup: {@link refuses} recognises a
 * configuration error there and closes the connection (ioredis reconnects
 * it after its `retryStrategy`'s delay), and {@link closedCurrent} tells
 * what ioredis then reports about that socket (a follow-on failure, not a
 * new cause).
 */
export class SetupGuard {
  /** The socket closed for a configuration error, until it is replaced. */
  private refused: unknown;

  constructor(private readonly redis: Redis) {}

  /** Whether the connection's current socket is one closed for a configuration error. */
  get closedCurrent(): boolean {
    return this.refused !== undefined && this.redis.stream === this.refused;
  }

  /**
   * Whether `error`, reported by the connection, is a configuration error of
   * its setup (it is not ready yet); if so, the connection is closed, to be
   * retried.
   */
  refuses(error: Error): boolean {
    if (this.redis.status !== "connect" || !isConfigurationError(error)) return false;
    this.refused = this.redis.stream;
    this.redis.disconnect(true);
    return true;
  }
}
