/**
 * The `url` option: checked once, when the backplane is created, so that a
 * URL ioredis would misread (a database path it turns into `SELECT NaN`, a
 * password it cannot decode) is refused with the fix instead of crashing the
 * process later; and shown without its password in every message. Internal.
 */
import { SSEOptionError } from "@burrow/sse-core";

/** The largest database number Redis accepts (its `databases` setting is a C int). */
const MAX_DB = 2_147_483_647;

const EXAMPLE = '"redis://user:password@127.0.0.1:6379/0"';

/**
 * Throws core's `SSEOptionError` (option `url`, the value shown without its
 * password) unless `url` is a `redis://` or `rediss://` URL that ioredis
 * reads as written: parsable, user and password percent-encoded correctly,
 * and a database number, if any (the path, or a `db` query parameter), that
 * is a whole number. Whether the server has that database is known only once
 * connected: see the link's configuration errors. @internal
 */
export function checkRedisUrl(url: unknown): asserts url is string {
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    throw new SSEOptionError(
      "url",
      `must be a redis:// or rediss:// URL, e.g. ${EXAMPLE}`,
      typeof url === "string" ? redactUrl(url) : url,
    );
  }
  const refuse = (problem: string): never => {
    throw new SSEOptionError("url", problem, redactUrl(url));
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse(
      `is not a parsable URL (check the host, the port and that the password's special characters are percent-encoded), e.g. ${EXAMPLE}`,
    );
  }
  for (const [part, value] of [
    ["user", parsed.username],
    ["password", parsed.password],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      refuse(`its ${part} has a % that starts no percent-escape: write a literal % as %25`);
    }
  }
  const path = parsed.pathname;
  if (path !== "" && path !== "/") {
    checkDb(path.slice(1), `its path, "${path}",`, refuse);
  }
  const query = parsed.searchParams.get("db");
  if (query !== null) checkDb(query, `its db parameter, "${query}",`, refuse);
}

/**
 * Refuses `text` unless it is a database number: a whole number, written
 * with digits only, at most Redis's largest.
 */
function checkDb(text: string, what: string, refuse: (problem: string) => never): void {
  if (!/^\d+$/.test(text) || Number(text) > MAX_DB) {
    refuse(
      `${what} must be a database number: a whole number from 0 (0–15 on a Redis with the default "databases 16"), e.g. ${EXAMPLE}`,
    );
  }
}

/**
 * `url` without its password, for messages; a URL that does not parse has
 * what looks like its password hidden. @internal
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/^([a-z]+:\/\/[^:@/]*):.*@/i, "$1:***@");
  }
}
