// Shutdown under load: thousands of connected clients on 127.0.0.1 with
// events flowing, some of them stuck (not reading, socket backed up).
// broker.close() + server.close() completes, every reading client gets the
// end of its stream after a jittered retry, and a child process running such
// a server exits on its own after SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import type { ServerResponse } from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { cleanupAfterEach, listen, type RawClient, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, handlerFunc } from "./index.js";

const cleanups = cleanupAfterEach();

const CLIENTS = 2000;
const STUCK = 20;
const WINDOW_MS = 5000;

/** Opens `count` raw clients in parallel batches and waits for their heads. */
async function connectMany(port: number, count: number, batch = 200): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < count; i += batch) {
    const group = Array.from({ length: Math.min(batch, count - i) }, () => rawClient(port, "/"));
    for (const client of group) cleanups.push(() => client.close());
    await Promise.all(group.map((client) => client.ready));
    clients.push(...group);
  }
  for (const client of clients) expect(client.head).toMatch(/^HTTP\/1.1 200/);
  return clients;
}

/** The retry a client got last, if any (the one sent on broker close). */
const retryOf = (client: RawClient) => /retry: (\d+)\n\n$/.exec(client.body)?.[1];

describe("shutdown under load", () => {
  it(`${CLIENTS} streams (${STUCK} of them stuck) with events flowing: broker.close() + server.close() completes`, async () => {
    const broker = new EventBroker();
    // Stuck clients also watch "fill", which only they get: it backs their sockets up.
    const sse = handlerFunc(broker, (req) => (req.url === "/stuck" ? ["feed", "fill"] : "feed"), {
      keepaliveMs: 1000,
      reconnectWindowMs: WINDOW_MS,
    });
    const responses: ServerResponse[] = [];
    const server = await listen((req, res) => {
      responses.push(res);
      sse(req, res);
    });
    cleanups.push(() => server.close());

    const stuck = Array.from({ length: STUCK }, () =>
      rawClient(server.port, "/stuck", { read: false }),
    );
    for (const client of stuck) cleanups.push(() => client.close());
    await Promise.all(stuck.map((client) => client.ready));
    const clients = await connectMany(server.port, CLIENTS - STUCK);
    await waitFor(() => broker.stats().clients === CLIENTS, `${CLIENTS} subscriptions`);

    const stuckResponses = responses.slice(0, STUCK);
    const fill = { data: "f".repeat(16 * 1024) };
    for (
      let filled = 0;
      !stuckResponses.every((r) => r.writableLength >= r.writableHighWaterMark);
    ) {
      if (filled > 20_000) throw new Error("the stuck clients never backed up");
      for (let i = 0; i < 4; i++, filled++) broker.publish("fill", fill);
      await tick();
    }
    // Events are flowing at the moment of shutdown.
    let flowing = true;
    let published = 0;
    const publishing = (async () => {
      while (flowing) {
        broker.publish("feed", { data: `<li>event ${published++}</li>` });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await waitFor(() => clients.every((c) => c.events.length > 0), "every reader to get events");

    broker.close();
    flowing = false;
    await publishing;
    await new Promise<void>((resolve) => server.server.close(() => resolve()));

    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    for (const res of responses) expect(res.writableEnded).toBe(true);
    // Every reader saw its stream end, after a retry inside the window.
    await waitFor(() => clients.every((c) => c.finished), "every reader's stream to end");
    const retries = clients.map((c) => Number(retryOf(c)));
    for (const retry of retries) {
      expect(retry).toBeGreaterThanOrEqual(0);
      expect(retry).toBeLessThan(WINDOW_MS);
    }
    // Jitter: 1980 draws below 5000 are not all alike (all equal: about 5000^-1979).
    expect(new Set(retries).size).toBeGreaterThan(CLIENTS / 4);
  });

  it("a server process with thousands of streams exits on its own after SIGTERM", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/shutdown-server.mjs", import.meta.url));
    const child: ChildProcess = spawn(process.execPath, [fixture], {
      // An event every 50 ms to each of 2000 clients: what this test process can parse.
      env: { ...process.env, PUBLISH_INTERVAL_MS: "50" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    const lines: Record<string, unknown>[] = [];
    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      for (let at = buffered.indexOf("\n"); at !== -1; at = buffered.indexOf("\n")) {
        lines.push(JSON.parse(buffered.slice(0, at)));
        buffered = buffered.slice(at + 1);
      }
    });
    const exited = once(child, "exit");
    await waitFor(() => lines.length > 0, "the fixture to listen");
    const port = lines[0]!.port as number;

    const clients = await connectMany(port, CLIENTS);
    await waitFor(() => clients.every((c) => c.events.length > 0), "every client to get events");
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as {
      clients: number;
    };
    expect(stats.clients).toBe(CLIENTS);

    child.kill("SIGTERM");
    // No timeout here beyond the test's own: state, not time (a hang fails the test).
    const [code, signal] = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatchObject({ closed: true, stats: { clients: 0, topics: 0 } });
    await waitFor(() => clients.every((c) => c.finished), "every stream to end");
    for (const client of clients) expect(retryOf(client)).toBeDefined();
  });
});
