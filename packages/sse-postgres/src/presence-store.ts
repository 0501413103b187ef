/**
 * Presence shared through PostgreSQL. Each process writes its own members of
 * each topic as one row and keeps itself alive with an expiry (PostgreSQL's
 * clock + TTL), renewed by a heartbeat every TTL/3 (core's
 * {@link SharedPresence} does the bookkeeping). A process whose expiry
 * passed is swept by a live one: its rows are deleted (one statement: of
 * two sweepers, the row lock gives each row to one) and its members that
 * no live process has are announced as left. Internal.
 *
 * Tables, under the backplane's prefix (created on first use, see
 * {@link presenceSchemaStatements}):
 * - `<p>presence_procs`: process -> `expires`;
 * - `<p>presence`: (topic, process) -> `members`, the JSON list of its
 *   members `{ id, data, connections }`; a process with none has no row.
 */
import { randomBytes } from "node:crypto";
import { type PresenceHost, type PresenceRow, SharedPresence } from "@burrow/sse-core/adapter";
import type pg from "pg";
import type { Statement } from "./schema.js";
import { transaction } from "./transaction.js";

/** SQLSTATEs saying the presence tables are missing: create them again. */
const MISSING_TABLE = "42P01";

/** The presence tables' names. */
function tables(prefix: string) {
  return { procs: `${prefix}presence_procs`, rows: `${prefix}presence` };
}

/**
 * Creates the presence tables if missing, idempotently, in one transaction;
 * several processes may run it at once (an advisory lock on the prefix, the
 * one the backplane's schema takes, serializes them).
 */
export function presenceSchemaStatements(prefix: string): Statement[] {
  const t = tables(prefix);
  return [
    { text: "SELECT pg_advisory_xact_lock(hashtext($1))", values: [`burrow-sse:${prefix}`] },
    {
      text: `CREATE TABLE IF NOT EXISTS ${t.procs} (
        proc text PRIMARY KEY,
        expires timestamptz NOT NULL
      )`,
    },
    {
      text: `CREATE TABLE IF NOT EXISTS ${t.rows} (
        topic text NOT NULL,
        proc text NOT NULL,
        members text NOT NULL,
        since timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (topic, proc)
      )`,
    },
    { text: `CREATE INDEX IF NOT EXISTS ${t.rows}_proc ON ${t.rows} (proc)` },
  ];
}

/** Options of {@link PostgresPresence}. */
export interface PostgresPresenceOptions {
  /** The backplane's pool; undefined when it has none (closed before it was attached). */
  pool(): pg.Pool | undefined;
  /** The pool's sessions are bounded by `timeoutMs` already (the backplane's own pool). */
  sessionBounded: boolean;
  prefix: string;
  ttlMs: number;
  timeoutMs: number;
  onError(error: Error): void;
}

/** {@link BackplanePresence} on PostgreSQL, through the backplane's pool. */
export class PostgresPresence extends SharedPresence {
  readonly owner = randomBytes(8).toString("hex");
  private schemaReady = false;
  /** When statements last started succeeding (0 while they fail). */
  private readyAt = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    host: PresenceHost,
    private readonly options: PostgresPresenceOptions,
  ) {
    super(host, options.ttlMs);
  }

  readySince(): number {
    return this.readyAt;
  }

  /** The backplane's link went down: sweep only a whole TTL after it is usable again. */
  down(): void {
    this.readyAt = 0;
  }

  /**
   * In one transaction, holding a lock on the topic (so that of two
   * processes changing the same member at once, the second sees the
   * first's row): renews this process's expiry, writes or deletes its row,
   * and reads the live processes' rows.
   */
  async write(
    topic: string,
    json: string,
  ): Promise<{ known: boolean; rows: PresenceRow[] } | undefined> {
    const t = tables(this.options.prefix);
    const own =
      json === "[]"
        ? {
            text: `DELETE FROM ${t.rows} WHERE topic = $1 AND proc = $2`,
            values: [topic, this.owner],
          }
        : {
            text: `INSERT INTO ${t.rows} (topic, proc, members) VALUES ($1, $2, $3)
              ON CONFLICT (topic, proc) DO UPDATE SET members = EXCLUDED.members`,
            values: [topic, this.owner, json],
          };
    const results = await this.run([
      {
        text: "SELECT pg_advisory_xact_lock(hashtext($1))",
        values: [`burrow-sse-presence:${this.options.prefix}${topic}`],
      },
      {
        // xmax is 0 on a row just inserted, not on one updated: a row was there (this process known).
        text: `INSERT INTO ${t.procs} (proc, expires)
          VALUES ($1, clock_timestamp() + make_interval(secs => $2::double precision / 1000))
          ON CONFLICT (proc) DO UPDATE SET expires = EXCLUDED.expires
          RETURNING xmax <> 0 AS known`,
        values: [this.owner, this.options.ttlMs],
      },
      own,
      this.liveRows(topic),
    ]);
    if (results === undefined) return undefined;
    return { known: results[1]?.rows[0]?.known === true, rows: rowsOf(results[3]) };
  }

  async read(topic: string): Promise<PresenceRow[] | undefined> {
    const results = await this.run([this.liveRows(topic)]);
    return results === undefined ? undefined : rowsOf(results[0]);
  }

  /** Deletes every expired process but this one, and its rows; what it deleted. */
  async sweep(): Promise<[string, string][] | undefined> {
    const t = tables(this.options.prefix);
    const results = await this.run([
      {
        text: `WITH dead AS (
            DELETE FROM ${t.procs} WHERE expires < clock_timestamp() AND proc <> $1 RETURNING proc
          )
          DELETE FROM ${t.rows} WHERE proc IN (SELECT proc FROM dead) RETURNING topic, members`,
        values: [this.owner],
      },
    ]);
    if (results === undefined) return undefined;
    return (results[0]?.rows ?? []).map((row: { topic: string; members: string }) => [
      row.topic,
      row.members,
    ]);
  }

  /**
   * Stops the heartbeat and marks this process expired rather than
   * deleting its rows: the next sweep (within a third of the TTL) announces
   * as left only the members who did not reconnect to another process meanwhile.
   */
  close(): Promise<void> {
    this.closing ??= this.expire();
    return this.closing;
  }

  private async expire(): Promise<void> {
    this.stop();
    if (this.schemaReady && this.readyAt !== 0) {
      const t = tables(this.options.prefix);
      await this.run([
        {
          text: `UPDATE ${t.procs} SET expires = '-infinity' WHERE proc = $1`,
          values: [this.owner],
        },
      ]);
    }
    this.closed = true;
  }

  /** Live processes' rows of `topic`, oldest first. */
  private liveRows(topic: string): Statement {
    const t = tables(this.options.prefix);
    return {
      text: `SELECT r.proc, r.members FROM ${t.rows} r JOIN ${t.procs} p ON p.proc = r.proc
        WHERE r.topic = $1 AND p.expires >= clock_timestamp() ORDER BY r.since, r.proc`,
      values: [topic],
    };
  }

  /** Runs `statements` in one transaction (creating the tables first if needed); undefined on failure. */
  private async run(statements: Statement[]): Promise<pg.QueryResult[] | undefined> {
    const pool = this.options.pool();
    if (this.closed || pool === undefined) return undefined;
    const { timeoutMs, prefix, sessionBounded } = this.options;
    try {
      if (!this.schemaReady) {
        const t = tables(prefix);
        const [check] = await transaction(
          pool,
          timeoutMs,
          [
            {
              text: "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ready",
              values: [t.procs, t.rows],
            },
          ],
          sessionBounded,
        );
        // Created only when missing: a role that may use them but not create them works.
        if (check?.rows[0]?.ready !== true) {
          await transaction(pool, timeoutMs, presenceSchemaStatements(prefix));
        }
        this.schemaReady = true;
      }
      const results = await transaction(pool, timeoutMs, statements, sessionBounded);
      if (this.readyAt === 0) this.readyAt = Date.now();
      return results;
    } catch (error) {
      if ((error as { code?: string }).code === MISSING_TABLE) this.schemaReady = false;
      this.readyAt = 0;
      this.options.onError(error as Error);
      return undefined;
    }
  }
}

function rowsOf(result: pg.QueryResult | undefined): PresenceRow[] {
  return (result?.rows ?? []).map((row: { proc: string; members: string }) => [
    row.proc,
    row.members,
  ]);
}
