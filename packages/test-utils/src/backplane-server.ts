/**
 * Server child processes for multi-process backplane tests (see
 * `fixtures/backplane-server.mjs`), and a free port for a private server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { waitFor } from "./waits.js";

/** A free TCP port on 127.0.0.1 (nothing listens on it when this returns). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const fixture = fileURLToPath(new URL("./fixtures/backplane-server.mjs", import.meta.url));
const children = new Set<ChildProcess>();

/** The broker stats a server process reports (`backplane`: the engine's own stats). */
export interface ServerStats {
  heapUsed: number;
  published: number;
  clients: number;
  delivered: number;
  dropped: number;
  resumed: number;
  resumeMisses: number;
  /** Snapshots sent, by reason (issue #25). */
  snapshots: { miss: number; restart: number; overflow: number; connect: number };
  backplane: {
    state: string;
    errors: number;
    localOnly: number;
    received: number;
    topics: number;
    [field: string]: number | string | undefined;
  };
}

/** One server process (node:http + core handler + a backplane). */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything it wrote to stderr (the backplane's reports). */
  readonly stderr: string;
  /** Its broker's stats and heap; with `gc`, the heap after a full GC. */
  stats(gc?: boolean): Promise<ServerStats>;
  /** Publishes `data` on `topic` through this process; resolves with `publish()`'s count. */
  publish(topic: string, data: string): Promise<number>;
  /**
   * Starts publishing `perTick` events of `bytes` bytes every 10 ms,
   * round-robin over `topics` (comma-separated), with data `<n> xxx…` (n from
   * 0), until {@link stopFlood} or `count` were published.
   */
  flood(topics: string, perTick: number, bytes: number, count?: number): Promise<void>;
  /** Stops the flood; resolves with how many events it published. */
  stopFlood(): Promise<number>;
  /** `broker.cursor()`, or null. */
  cursor(): Promise<string | null>;
  /** `broker.members(topic)`: ids and connection counts, sorted by id. */
  members(topic: string): Promise<{ id: string; connections: number }[]>;
  /** SIGTERM, and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts a server process whose backplane `backplaneModule` creates (a path;
 * see the fixture), with `env` added to this process's environment.
 */
export async function startServer(
  backplaneModule: string,
  env: Record<string, string | number | undefined>,
): Promise<ServerProcess> {
  const extra = Object.entries(env).flatMap(([key, value]) =>
    value === undefined ? [] : [[key, String(value)]],
  );
  const child = spawn(process.execPath, ["--expose-gc", fixture], {
    env: { ...process.env, BACKPLANE_MODULE: backplaneModule, ...Object.fromEntries(extra) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  await waitFor(
    () => /listening \d+/.test(stdout) || child.exitCode !== null,
    "the server process to listen",
  );
  if (child.exitCode !== null) throw new Error(`server process exited: ${stderr}`);
  const port = Number(/listening (\d+)/.exec(stdout)![1]);
  const url = `http://127.0.0.1:${port}`;
  const get = async <T>(path: string, method = "GET", body?: string): Promise<T> =>
    (await (await fetch(`${url}${path}`, { method, body })).json()) as T;
  return {
    child,
    url,
    port,
    get stderr() {
      return stderr;
    },
    stats: (gc = false) => get<ServerStats>(`/stats${gc ? "?gc=1" : ""}`),
    publish: (topic, data) =>
      get<number>(`/publish?topic=${encodeURIComponent(topic)}`, "POST", data),
    flood: async (topics, perTick, bytes, count) => {
      const query = new URLSearchParams({
        topics,
        perTick: String(perTick),
        bytes: String(bytes),
        ...(count === undefined ? {} : { count: String(count) }),
      });
      await get(`/flood?${query}`, "POST");
    },
    stopFlood: () => get<number>("/flood", "POST"),
    cursor: () => get<string | null>("/cursor"),
    members: async (topic) =>
      sortMembers(
        await get<{ id: string; connections: number }[]>(
          `/members?topic=${encodeURIComponent(topic)}`,
        ),
      ),
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      return code as number | null;
    },
  };
}

/** Waits until `server`'s backplane is in state `wanted`. */
export async function state(server: ServerProcess, wanted: string): Promise<void> {
  await waitFor(
    async () => (await server.stats()).backplane.state === wanted,
    `${server.url} to be ${wanted}`,
  );
}

/** Waits until `server`'s backplane is ready and receives at least `topics` topics. */
export async function listening(server: ServerProcess, topics: number): Promise<void> {
  await waitFor(async () => {
    const { backplane } = await server.stats();
    return backplane.state === "ready" && backplane.topics >= topics;
  }, `${server.url} to listen to ${topics} topics`);
}

/** Members as ids and connection counts, sorted by id (data left out). */
export function sortMembers(
  members: readonly { id: string; connections: number }[],
): { id: string; connections: number }[] {
  return members
    .map(({ id, connections }) => ({ id, connections }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Has {@link killServers} kill `child` too (a private engine server, say). */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Kills every server process still running (afterEach). */
export function killServers(): void {
  for (const child of children) child.kill("SIGKILL");
  children.clear();
}
