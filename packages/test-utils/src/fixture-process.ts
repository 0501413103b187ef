/**
 * Server fixtures run as their own process, for what only a process shows:
 * a crash (an unhandled rejection or 'error' event exits Node), and an answer
 * that never comes. A fixture is a plain ESM script importing the built
 * packages by name; it listens on 127.0.0.1 and prints `listening <port>`,
 * and answers `GET /ok` with `alive`. Processes are tracked with the
 * backplane servers': {@link killServers} ends them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { trackChild } from "./backplane-server.js";
import { recordEvents } from "./clients.js";
import { waitFor } from "./waits.js";

export { killServers } from "./backplane-server.js";

/** What Node prints when it dies of an uncaught error, and the write-after-answer errors. */
const CRASH =
  /triggerUncaughtException|UnhandledPromiseRejection|Uncaught|ERR_UNHANDLED|ERR_STREAM_WRITE_AFTER_END|ERR_HTTP_HEADERS_SENT|^Node\.js v\d/;

/** One HTTP answer, or status 0 and why none came. */
export interface Answer {
  status: number;
  contentType: string | null;
  body: string;
}

/**
 * Sends one request and reads the whole answer; never throws: no answer
 * within `timeoutMs` (a hang), or a connection that broke (a crash), is
 * status 0 with the reason as body.
 */
export async function answer(
  url: string,
  init: RequestInit = {},
  timeoutMs = 10_000,
): Promise<Answer> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: await response.text(),
    };
  } catch (err) {
    const reason = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err);
    const hang = err instanceof Error && err.name === "TimeoutError";
    return {
      status: 0,
      contentType: null,
      body: hang ? `no answer within ${timeoutMs} ms` : `no answer: ${reason.trim()}`,
    };
  }
}

/**
 * Reads `read()` until `done` holds of it or `timeoutMs` passed, and returns
 * the last value read: the caller asserts on it, so a failure shows the value.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A fixture server process. */
export interface FixtureProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Everything it wrote to stderr since {@link mark}. */
  readonly stderr: string;
  /** Starts a new stderr window (a test of its own on a reused process). */
  mark(): void;
  /**
   * Every sign that it crashed, joined by ` | `; "" while it lives clean: it
   * must still answer `GET /ok` with `alive`, not have exited, and have
   * printed nothing of an uncaught error (or of a write after its answer) to
   * stderr since {@link mark}.
   */
  crash(): Promise<string>;
  /** Resolves with the JSON a `GET path` answers (e.g. `/seen`, `/stats`). */
  json<T>(path: string): Promise<T>;
  /**
   * Whether it still streams: opens `GET /good` (topic `news`) with an `EventSource`,
   * `POST /publish` once it is open, and resolves with the data of the
   * events received within `timeoutMs` (the fixture's `["hello"]`).
   */
  streamedEvents(timeoutMs?: number): Promise<string[]>;
}

/**
 * Starts `node <file>` with `env` added to this process's environment;
 * resolves once it printed `listening <port>`.
 */
export async function startFixture(
  file: URL,
  env: Record<string, string> = {},
): Promise<FixtureProcess> {
  const child = spawn(process.execPath, [fileURLToPath(file)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  let stdout = "";
  let stderr = "";
  let from = 0;
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  await waitFor(() => /listening \d+/.test(stdout) || child.exitCode !== null, `${file} to listen`);
  if (child.exitCode !== null) throw new Error(`${file} exited before listening: ${stderr}`);
  const url = `http://127.0.0.1:${/listening (\d+)/.exec(stdout)![1]}`;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    url,
    get stderr() {
      return stderr.slice(from);
    },
    mark: () => {
      from = stderr.length;
    },
    crash: async () => {
      const signs: string[] = [];
      const ok = await answer(`${url}/ok`);
      if (ok.status !== 200 || ok.body !== "alive") {
        signs.push(`GET /ok: ${ok.status} ${ok.body}`);
        await waitFor(exited, "the fixture to exit", 3_000).catch(() => {});
      }
      if (exited()) signs.push(`exited: code ${child.exitCode}, signal ${child.signalCode}`);
      for (const line of stderr.slice(from).split("\n")) {
        if (CRASH.test(line)) signs.push(line.trim());
      }
      return signs.join(" | ");
    },
    json: async <T>(path: string) => (await (await fetch(`${url}${path}`)).json()) as T,
    streamedEvents: async (timeoutMs = 10_000) => {
      const client = recordEvents(`${url}/good`, ["news"]);
      try {
        const timeout = delay(timeoutMs, false, { ref: false });
        if (!(await Promise.race([client.opened.then(() => true), timeout]))) return [];
        await answer(`${url}/publish`, { method: "POST" });
        await Promise.race([client.waitForCount(1).catch(() => []), timeout]);
        return client.events.map((event) => event.data);
      } finally {
        client.close();
      }
    },
  };
}

/**
 * One fixture process shared by the tests of a file: started on first use,
 * started again after one died, its stderr window reset for each test, and
 * each of `reset` (paths that list and forget, e.g. `/seen`) read first.
 */
export function sharedFixture(
  file: URL,
  env: Record<string, string> = {},
  reset: readonly string[] = [],
): () => Promise<FixtureProcess> {
  let current: FixtureProcess | undefined;
  return async () => {
    // A process that no longer answers (or is still dying of the last test) is replaced.
    const ok = current && (await answer(`${current.url}/ok`, {}, 5_000));
    let alive = current;
    if (alive === undefined || ok?.status !== 200 || ok.body !== "alive") {
      alive?.child.kill("SIGKILL");
      alive = await startFixture(file, env);
      current = alive;
    }
    alive.mark();
    for (const path of reset) await alive.json(path);
    return alive;
  };
}
