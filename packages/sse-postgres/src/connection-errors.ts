/**
 * What a PostgreSQL error says about the link: a configuration the server
 * refuses (retrying will not help until someone fixes it), a server that
 * answers but cancelled a statement for its time (a held lock, overload),
 * or else an outage. Internal.
 */

/** How to fix what the server refused, by SQLSTATE (a class `28` code: see `28`). */
const FIXES: Record<string, string> = {
  "3D000": "fix the database name in the connection string, or create the database",
  "28P01": "fix the user name or password in the connection string",
  "28": "fix the user name in the connection string, or the server's pg_hba.conf",
  "42501":
    "grant the role what it needs (CONNECT on the database; CREATE on the schema to create the tables once), or connect as another role",
  "42704": "fix the options of the connection string (a setting PostgreSQL does not know)",
  "22023": "fix the options of the connection string (a value PostgreSQL refuses)",
};

/** node-postgres's own refusals of a configuration, which carry no SQLSTATE: how to fix each. */
const CLIENT_FIXES: [RegExp, string][] = [
  [
    /server does not support SSL/i,
    "turn SSL off in the connection string (sslmode=disable), or on in the server",
  ],
  [/password must be a /i, "give the password in the connection string"],
  [/certificate|self[- ]signed/i, "fix the SSL settings of the connection string (sslrootcert)"],
];

/** SQLSTATEs of a statement the server cancelled for its time: lock_timeout, statement_timeout. */
const CANCELLED = new Set(["55P03", "57014"]);

/**
 * How to fix the configuration error `error` is, or undefined when it is
 * not one: a database that does not exist (3D000), bad credentials (28P01,
 * any class 28 code), a role without the privilege (42501), connection
 * options the server refuses (42704, 22023), an SSL setting the server
 * does not match, a missing password.
 */
export function configurationFix(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    return FIXES[code] ?? (code.startsWith("28") ? FIXES["28"] : undefined);
  }
  if (typeof message !== "string") return undefined;
  return CLIENT_FIXES.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * Whether PostgreSQL answered `error` by cancelling a statement for its
 * time (`lock_timeout`, `statement_timeout`): it is reachable, but did not
 * get the statement done in time.
 */
export function cancelledByServer(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && CANCELLED.has(code);
}

/**
 * The line that tells a configuration error, without the package's name:
 * `configuration refused by PostgreSQL at <where>: <its message> (<code>); <fix>`.
 */
export function refusalMessage(error: Error, fix: string, where: string): string {
  const code = (error as { code?: unknown }).code;
  return `configuration refused by PostgreSQL at ${where}: ${error.message}${typeof code === "string" ? ` (${code})` : ""}; ${fix}`;
}
