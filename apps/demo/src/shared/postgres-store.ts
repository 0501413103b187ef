import pg from "pg";
import {
  type AddedNote,
  type Badge,
  MAX_NOTES,
  type Note,
  PROJECTS,
  type Project,
  projectInfo,
  type Store,
  type Tone,
  withBadge,
} from "./store.js";

/** Where a {@link PostgresStore} keeps the demo's state. */
export interface PostgresStoreOptions {
  connectionString: string;
  /** Prefix of its tables, followed by `demo_` (the backplane's prefix: one group of demos). */
  prefix?: string;
}

/** What a table prefix may be: the backplane's own rule (it is put into SQL as it is). */
const PREFIX = /^[a-z_][a-z0-9_]{0,29}$/;

/**
 * The demo's state in PostgreSQL (`--database-url`, the backplane's): every
 * demo on it reads and changes the same notes, status and badges, so a page
 * loaded from any of them shows the same, and a snapshot rendered by any of
 * them too. Tables `<prefix>demo_notes`, `demo_state` (the team status),
 * `demo_badges` and `demo_counters` (job numbers), created if missing. One
 * connection at a time: its statements run in the order they are called,
 * each change in one statement.
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #t: Record<"notes" | "state" | "badges" | "counters", string>;

  readonly #prefix: string;
  /** The tables, created once (again after a failure) before the first statement. */
  #tables: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    const prefix = options.prefix ?? "burrow_sse_";
    if (!PREFIX.test(prefix)) throw new Error(`demo: a table prefix must match ${PREFIX}`);
    this.#prefix = prefix;
    const t = (name: string) => `${prefix}demo_${name}`;
    this.#t = {
      notes: t("notes"),
      state: t("state"),
      badges: t("badges"),
      counters: t("counters"),
    };
    // One connection, reconnected after a failure: statements run in the order they are called.
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: 1 });
    this.#pool.on("error", () => {});
  }

  async notes(): Promise<Note[]> {
    const { rows } = await this.#query(
      `SELECT id, title, created_at FROM (
        SELECT id, title, created_at FROM ${this.#t.notes} ORDER BY id DESC LIMIT $1
      ) recent ORDER BY id`,
      [MAX_NOTES],
    );
    return rows.map((row) => ({ id: row.id, title: row.title, createdAt: row.created_at }));
  }

  async addNote(title: string): Promise<AddedNote> {
    // The new row is not seen by the DELETE of the same statement: keep MAX_NOTES - 1 others.
    const { rows } = await this.#query(
      `WITH added AS (
        INSERT INTO ${this.#t.notes} (title) VALUES ($1) RETURNING id, title, created_at
      ), dropped AS (
        DELETE FROM ${this.#t.notes} WHERE id IN (
          SELECT id FROM ${this.#t.notes} ORDER BY id DESC OFFSET $2
        ) RETURNING id
      )
      SELECT id, title, created_at,
        ARRAY(SELECT id FROM dropped ORDER BY id) AS dropped FROM added`,
      [title, MAX_NOTES - 1],
    );
    const row = rows[0];
    return {
      note: { id: row.id, title: row.title, createdAt: row.created_at },
      dropped: row.dropped,
    };
  }

  async status(): Promise<string | undefined> {
    const { rows } = await this.#query(`SELECT value FROM ${this.#t.state} WHERE key = 'status'`);
    return rows[0]?.value;
  }

  async setStatus(text: string): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#t.state} (key, value) VALUES ('status', $1)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [text],
    );
  }

  async projects(): Promise<Project[]> {
    const { rows } = await this.#query(`SELECT id, status, tone, revision FROM ${this.#t.badges}`);
    const badges = new Map(rows.map((row) => [row.id as string, row as Badge]));
    return PROJECTS.map((project) => withBadge(project, badges.get(project.id)));
  }

  async project(id: string): Promise<Project | undefined> {
    const info = projectInfo(id);
    if (info === undefined) return undefined;
    const { rows } = await this.#query(
      `SELECT status, tone, revision FROM ${this.#t.badges} WHERE id = $1`,
      [id],
    );
    return withBadge(info, rows[0]);
  }

  async updateProject(id: string, status: string, tone: Tone): Promise<Project | undefined> {
    const info = projectInfo(id);
    if (info === undefined) return undefined;
    const { rows } = await this.#query(
      `INSERT INTO ${this.#t.badges} AS b (id, status, tone, revision) VALUES ($1, $2, $3, $4 + 1)
        ON CONFLICT (id) DO UPDATE
        SET status = EXCLUDED.status, tone = EXCLUDED.tone, revision = b.revision + 1
        RETURNING status, tone, revision`,
      [id, status, tone, info.initial.revision],
    );
    return withBadge(info, rows[0]);
  }

  async nextJobId(): Promise<number> {
    const { rows } = await this.#query(
      `INSERT INTO ${this.#t.counters} AS c (name, value) VALUES ('job', 1)
        ON CONFLICT (name) DO UPDATE SET value = c.value + 1 RETURNING value`,
    );
    return rows[0].value;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** Runs one statement, once the tables exist. */
  async #query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    this.#tables ??= this.#createTables().catch((err: unknown) => {
      this.#tables = undefined;
      throw err;
    });
    await this.#tables;
    return this.#pool.query(text, values);
  }

  /** Creates the tables if missing; several demos may start at once. */
  async #createTables(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      // Serializes demos creating the same tables at once.
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
        `burrow-demo:${this.#prefix}`,
      ]);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.notes} (
        id serial PRIMARY KEY,
        title text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.state} (
        key text PRIMARY KEY,
        value text NOT NULL
      )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.badges} (
        id text PRIMARY KEY,
        status text NOT NULL,
        tone text NOT NULL,
        revision integer NOT NULL
      )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#t.counters} (
        name text PRIMARY KEY,
        value integer NOT NULL
      )`);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
