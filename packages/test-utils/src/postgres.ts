/**
 * Test helpers for code that needs PostgreSQL: find it (skip without it,
 * fail under `CI=true`), give each run its own table prefix and drop its
 * tables, end backends by application name, and run a private cluster
 * (`initdb` + `postgres` on a free port, as a non-root user) that a test may
 * stop, start, freeze and thaw. A subpath of its own, so that only tests
 * that need PostgreSQL connect to it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describeWithService } from "./services.js";
import { waitFor } from "./waits.js";

/** The PostgreSQL the tests use (the machine's: trust auth, database `test`). */
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Runs `fn` with a connected client of `url`, then closes it. */
export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why PostgreSQL cannot be used at `url`, or undefined when it answers. */
export async function postgresUnavailable(url = DATABASE_URL): Promise<string | undefined> {
  try {
    await withClient(url, (client) => client.query("SELECT 1"));
    return undefined;
  } catch (error) {
    return `no PostgreSQL at ${url} (${(error as Error).message})`;
  }
}

const unavailable = await postgresUnavailable();

/**
 * `describe` for tests that need PostgreSQL: skipped with the reason when
 * there is none, except under `CI=true`, where a missing one fails the run.
 */
export function describePostgres(name: string, body: () => void): void {
  describeWithService(unavailable, "PostgreSQL", "set DATABASE_URL", name, body);
}

/** A table prefix no other test run uses (25 characters). */
export function uniquePrefix(): string {
  return `burrow_test_${randomBytes(6).toString("hex")}_`;
}

/** Drops every table and function whose name starts with `prefix`. */
export async function dropPrefix(prefix: string, url = DATABASE_URL): Promise<void> {
  const like = `${prefix.replace(/_/g, "\\_")}%`;
  await withClient(url, async (client) => {
    const tables = await client.query(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1",
      [like],
    );
    if (tables.rows.length > 0) {
      await client.query(`DROP TABLE IF EXISTS ${tables.rows.map((r) => r.name).join(", ")}`);
    }
    const functions = await client.query(
      "SELECT p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE $1",
      [like],
    );
    for (const { name } of functions.rows) await client.query(`DROP FUNCTION IF EXISTS ${name}`);
  });
}

/** Ends (`pg_terminate_backend`) every backend whose application name is `name`; returns how many. */
export async function terminateBackends(name: string, url = DATABASE_URL): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return Number(rows[0].n);
  });
}

/** The directory of the newest installed PostgreSQL's server binaries, if any. */
function serverBinaries(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], "bin");
  try {
    const initdb = execFileSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).trim();
    return initdb === "" ? undefined : initdb.replace(/\/initdb$/, "");
  } catch {
    return undefined;
  }
}

/** The uid and gid to run a cluster as: ours, or, as root, `postgres`'s (created when missing). */
function clusterUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const idOf = (flag: string, user: string) =>
    Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim());
  try {
    return { uid: idOf("-u", "postgres"), gid: idOf("-g", "postgres") };
  } catch {
    execFileSync("useradd", ["--system", "--no-create-home", "postgres"]);
    return { uid: idOf("-u", "postgres"), gid: idOf("-g", "postgres") };
  }
}

const binaries = serverBinaries();

/** Why a private cluster cannot be run here, or undefined. */
export const privateClusterUnavailable =
  binaries === undefined
    ? "no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or on PATH"
    : undefined;

/**
 * `describe` for tests that run a private cluster: skipped with the reason
 * when the server binaries are missing, except under `CI=true`.
 */
export function describePrivateCluster(name: string, body: () => void): void {
  describeWithService(
    privateClusterUnavailable,
    "PostgreSQL's server binaries",
    "apt-get install postgresql",
    name,
    body,
  );
}

/** A private PostgreSQL cluster, its own data directory and port, that a test may stop and freeze. */
export interface PrivateCluster {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  /** Starts the server (creating the cluster first, once), and waits until it answers; idempotent. */
  start(): Promise<void>;
  /** A fast shutdown (SIGINT): sessions are ended, the data is kept. */
  stop(): Promise<void>;
  /**
   * SIGSTOP to the server and all its processes, once they are stopped: a
   * hung server (sockets stay open, nothing answers), like a network cut
   * without a reset.
   */
  pause(): Promise<void>;
  /** SIGCONT to every process {@link pause} stopped. */
  resume(): Promise<void>;
  /** Stops the server (immediate shutdown) and deletes the data directory. */
  destroy(): Promise<void>;
}

/** The state letter and parent pid of a process (Linux `/proc`). */
function processStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [, state, ppid] = /\) (\S) (\d+)/.exec(stat) ?? [];
    return state === undefined ? undefined : { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** A private cluster on `port` (not created yet). */
export function privateCluster(port: number): PrivateCluster {
  if (binaries === undefined) throw new Error(privateClusterUnavailable);
  const user = clusterUser();
  const dir = mkdtempSync(join(tmpdir(), "burrow-pg-"));
  const data = join(dir, "data");
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const as = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  let created = false;
  let server: ChildProcess | undefined;
  let paused: number[] = [];
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const kill = () => server?.kill("SIGKILL");
  process.once("exit", kill);
  return {
    port,
    url,
    async start() {
      if (server !== undefined && server.exitCode === null) return;
      if (!created) {
        execFileSync(
          join(binaries, "initdb"),
          ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
          { ...as, stdio: "ignore" },
        );
        created = true;
      }
      const args = ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"];
      const settings = ["fsync=off", "max_connections=60", "shared_buffers=16MB"];
      server = spawn(join(binaries, "postgres"), [...args, ...settings.flatMap((s) => ["-c", s])], {
        ...as,
        stdio: "ignore",
      });
      const started = server;
      await waitFor(
        async () => started.exitCode !== null || (await postgresUnavailable(url)) === undefined,
        "the private PostgreSQL to start",
        30_000,
      );
      if (started.exitCode !== null) throw new Error("the private PostgreSQL did not start");
    },
    async stop() {
      if (server === undefined || server.exitCode !== null) return;
      const exited = once(server, "exit");
      server.kill("SIGINT");
      await exited;
    },
    async pause() {
      const postmaster = server!.pid!;
      const children = readdirSync("/proc")
        .filter((name) => /^\d+$/.test(name))
        .map(Number)
        .filter((pid) => processStat(pid)?.ppid === postmaster);
      // The server first, so that it starts no new process meanwhile.
      paused = [postmaster, ...children];
      for (const pid of paused) process.kill(pid, "SIGSTOP");
      await waitFor(
        () => paused.every((pid) => [undefined, "T"].includes(processStat(pid)?.state)),
        "the private PostgreSQL to stop",
      );
    },
    resume,
    async destroy() {
      process.removeListener("exit", kill);
      await resume();
      if (server !== undefined && server.exitCode === null) {
        const exited = once(server, "exit");
        server.kill("SIGQUIT");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  async function resume(): Promise<void> {
    for (const pid of paused) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        // Gone meanwhile.
      }
    }
    paused = [];
  }
}
