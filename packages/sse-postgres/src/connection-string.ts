import pg from "pg";

/**
 * What is wrong with a connection string, found when the backplane is
 * created rather than retried as an outage forever: node-postgres reads a
 * string that is not a `postgres://` URL (a libpq `key=value` list, a
 * `host:port/database` without a scheme) as a path on a host named `base`,
 * and throws on a URL it cannot parse only once it connects. Internal.
 */

/** How a connection string is written, for messages. */
export const CONNECTION_STRING_EXAMPLE = "postgres://user:password@host:5432/database";

/**
 * Why node-postgres cannot use `value` as a connection string, or undefined:
 * a libpq key/value list, no scheme, another engine's scheme, or a URL it
 * cannot parse (a port that is not 0 to 65535, an SSL file it cannot read).
 * Accepted: `postgres://` and `postgresql://` URLs, `socket:` URLs, and a
 * Unix socket directory followed by a database (`/var/run/postgresql db`).
 */
export function connectionStringProblem(value: string): string | undefined {
  const text = value.trim();
  if (!text.startsWith("/") && !/^(postgres(ql)?:\/\/|socket:)/i.test(text)) {
    if (/^[a-z_]+\s*=/i.test(text)) {
      return "is a libpq key/value list, which node-postgres does not read (it would connect to a host named base)";
    }
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1];
    return scheme === undefined
      ? "has no postgres:// scheme (node-postgres would read it as a path on a host named base)"
      : `starts with ${scheme}://, which is not PostgreSQL's scheme`;
  }
  try {
    // Parses it exactly as every later connection will; connects nothing.
    new pg.Client({ connectionString: text });
  } catch (error) {
    return `node-postgres cannot read it (${(error as Error).message})`;
  }
  return undefined;
}

/**
 * `value` with its password hidden (the URL's, or a `password=` pair), so
 * that an error or a log line never shows it.
 */
export function hidePassword(value: string): string {
  return value
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:).*@/i, "$1***@")
    .replace(/(password\s*=\s*)[^\s&]+/gi, "$1***");
}
