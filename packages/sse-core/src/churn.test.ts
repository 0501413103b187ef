// Connection churn over real node:http on 127.0.0.1: 20 000 connect/disconnect
// cycles in parallel batches (clean closes, aborted sockets, resets, sockets
// gone before the answer, and half-open clients that stop reading and vanish
// while events flow), then a round of clients destroyed mid-write with their
// socket provably backed up. Afterwards nothing is left: no client or topic in
// stats(), no timer or socket (async_hooks and process.getActiveResourcesInfo()),
// no extra listener on the server, and the heap after GC grew less than
// HEAP_GROWTH_LIMIT.
import { createHook } from "node:async_hooks";
import type { Server } from "node:http";
import { connect, type Socket } from "node:net";
import { collectGarbage, listen, type TestServer, waitFor } from "@burrow/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBroker, handlerFunc, type SSERequest } from "./index.js";

const CYCLES = 20_000;
const BATCH = 250;
const STUCK_ROUNDS = 20;
const STUCK_PER_ROUND = 10;
/**
 * What the heap may grow by, after GC, across all the churn. A leak of a
 * single closure per cycle (~100 B) would stay below it, but a leaked client
 * (its subscription, ring buffer, response and socket: several KB) would
 * exceed it about ten times over.
 */
const HEAP_GROWTH_LIMIT = 8 * 1024 * 1024;

const gc = collectGarbage;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** A multiset of active resource types, e.g. { TCPServerWrap: 1, Timeout: 2 }. */
function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

function listenerCounts(server: Server): Record<string, number> {
  return Object.fromEntries(
    server.eventNames().map((name) => [String(name), server.listenerCount(name)]),
  );
}

/**
 * Tracks the sockets and timers created from now on that are still alive,
 * unref'd timers included (process.getActiveResourcesInfo() lists only those
 * that keep the process alive). Timers count when sse-core's code or Node's
 * HTTP and socket code made them (not the test's sleeps or the runner's),
 * except Node's Date-header cache timer (one per process, it ends itself
 * within a second).
 */
const SERVER_CODE =
  /sse-core\/(src|dist)\/([\w-]+\/)?[\w-]+\.(ts|js|cjs)|node:_http|node:net|stream_base_commons/;

function trackHandles() {
  const alive = new Map<number, string>();
  const seen = { keepaliveTimers: 0 };
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === "TCPWRAP" || type === "TCPSERVERWRAP") alive.set(id, type);
      if (type !== "Timeout") return;
      const onTimeout = (resource as { _onTimeout?: { name?: string } })._onTimeout;
      if (onTimeout?.name === "resetCache") return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 20;
      // The frames of whoever created the timer (after this hook's own).
      const full = new Error().stack ?? "";
      const stack = full.slice(full.indexOf("at new Timeout"));
      Error.stackTraceLimit = limit;
      if (!SERVER_CODE.test(stack)) return;
      if (stack.includes("event-stream")) seen.keepaliveTimers++;
      alive.set(id, `Timeout ${stack.split("\n").slice(2, 6).join(" <")}`);
    },
    destroy(id) {
      alive.delete(id);
    },
  });
  hook.enable();
  return { alive, seen, stop: () => hook.disable() };
}

type Kind = "clean" | "destroy" | "reset" | "early" | "half-open";
const KINDS: readonly Kind[] = [
  "clean",
  "clean",
  "clean",
  "destroy",
  "destroy",
  "reset",
  "early",
  "half-open",
  "half-open",
  "half-open",
];

/**
 * One cycle: connect, ask for the stream, and leave in the way `kind` says.
 * Resolves once the socket is closed on our side; `heads` counts 200 heads.
 */
function cycle(
  port: number,
  topic: string,
  kind: Kind,
  counts: Record<string, number>,
): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.once("close", () => resolve());
    socket.write(`GET /?topic=${topic} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    if (kind === "early") {
      // Gone before the answer, often while the request is being admitted.
      setImmediate(() => socket.destroy());
      return;
    }
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (!received.includes("\r\n\r\n")) return;
      if (!received.startsWith("HTTP/1.1 200")) throw new Error(`unexpected answer: ${received}`);
      counts[kind] = (counts[kind] ?? 0) + 1;
      socket.removeAllListeners("data");
      switch (kind) {
        case "clean":
          // Wait for one event, then a clean FIN.
          if (received.includes("data: ")) socket.end();
          else socket.once("data", () => socket.end());
          break;
        case "destroy":
          socket.destroy();
          break;
        case "reset":
          socket.resetAndDestroy();
          break;
        case "half-open":
          // Stops reading while events keep coming, then vanishes a little later.
          socket.pause();
          setTimeout(() => socket.destroy(), 5);
          break;
      }
    });
  });
}

describe("churn", () => {
  let server: TestServer;
  const broker = new EventBroker({ bufferSize: 4 });
  const baseline = {
    resources: {} as Record<string, number>,
    listeners: {} as Record<string, number>,
  };

  beforeAll(async () => {
    server = await listen(
      handlerFunc(
        broker,
        (req: SSERequest) => new URL(req.url ?? "/", "http://x").searchParams.get("topic") ?? "",
        {
          // Short, so the shared keepalive timer is started and stopped many times over.
          keepaliveMs: 50,
        },
      ),
    );
    baseline.resources = resourceCounts();
    baseline.listeners = listenerCounts(server.server);
  });
  afterAll(async () => {
    broker.close();
    await server.close();
  });

  it(`leaves no client, topic, timer, socket or listener after ${CYCLES} cycles and stuck clients vanishing mid-write; heap growth < ${HEAP_GROWTH_LIMIT / 1024 / 1024} MB`, async () => {
    const { port } = server;
    const counts: Record<string, number> = {};
    // Warm up (JIT, pools, the first keepalive group) before the heap baseline.
    await Promise.all(
      Array.from({ length: BATCH }, (_, i) => cycle(port, "warm", KINDS[i % KINDS.length]!, {})),
    );
    await waitFor(() => broker.stats().clients === 0, "warm-up clients to leave");
    const heapBefore = await settledHeap();
    const handles = trackHandles();

    // Events keep flowing to every topic in use while clients come and go.
    const fragment = `<li>${"x".repeat(500)}</li>`;
    let flowing = true;
    const publishLoop = async () => {
      while (flowing) {
        for (let t = 0; t < 8; t++) broker.publish(`churn-${t}`, { data: fragment });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const publishing = publishLoop();

    for (let done = 0; done < CYCLES; done += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, CYCLES - done) }, (_, i) => {
          const n = done + i;
          return cycle(port, `churn-${n % 8}`, KINDS[n % KINDS.length]!, counts);
        }),
      );
    }

    // Clients that never read, whose writes back up until their ring buffer
    // is full (publish then returns 0 for them), destroyed at that moment.
    const big = { data: "y".repeat(64 * 1024) };
    for (let round = 0; round < STUCK_ROUNDS; round++) {
      const sockets = Array.from({ length: STUCK_PER_ROUND }, (_, i) => {
        const socket = connect(port, "127.0.0.1");
        socket.on("error", () => {});
        socket.write(`GET /?topic=stuck-${round}-${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
        socket.pause();
        return socket;
      });
      await waitFor(() => stuckCount(round) === STUCK_PER_ROUND, "stuck clients to subscribe");
      for (let i = 0; i < STUCK_PER_ROUND; i++) {
        const topic = `stuck-${round}-${i}`;
        let guard = 0;
        // Each publish is 64 KB; at most a few MB fit in socket buffers before drops begin.
        while (broker.publish(topic, big) === 1) {
          if (++guard > 400) throw new Error(`${topic} never backed up`);
          if (guard % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
      for (const socket of sockets) socket.destroy();
      counts.stuck = (counts.stuck ?? 0) + STUCK_PER_ROUND;
    }

    flowing = false;
    await publishing;
    await waitFor(
      () => broker.stats().clients === 0 && broker.stats().topics === 0,
      "every client to be unsubscribed",
    );
    await waitFor(
      async () => (await connectionCount(server.server)) === 0,
      "every server connection to close",
    );
    await waitFor(
      () => handles.alive.size === 0,
      `timers and sockets to go: ${[...handles.alive.values()].join("; ")}`,
    );
    handles.stop();

    // The tracker does see the (unref'd) shared keepalive timer come and go.
    expect(handles.seen.keepaliveTimers).toBeGreaterThan(0);
    expect(counts.clean).toBe(CYCLES * 0.3);
    expect(counts.destroy).toBe(CYCLES * 0.2);
    expect(counts.reset).toBe(CYCLES * 0.1);
    expect(counts["half-open"]).toBe(CYCLES * 0.3);
    expect(counts.stuck).toBe(STUCK_ROUNDS * STUCK_PER_ROUND);
    expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    expect(broker.stats().dropped).toBeGreaterThan(0);
    // No timer or socket beyond the baseline (a baseline timer of the runner may have ended meanwhile).
    const beyond = Object.entries(resourceCounts()).filter(
      ([type, n]) => /Timeout|TCP/.test(type) && n > (baseline.resources[type] ?? 0),
    );
    expect(beyond).toEqual([]);
    expect(listenerCounts(server.server)).toEqual(baseline.listeners);
    const growth = (await settledHeap()) - heapBefore;
    expect(growth, `heap grew by ${(growth / 1024 / 1024).toFixed(2)} MB`).toBeLessThan(
      HEAP_GROWTH_LIMIT,
    );

    // Still serving after all that.
    const after = connect(port, "127.0.0.1");
    let text = "";
    after.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    after.write("GET /?topic=after HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => broker.stats().clients === 1, "a new client");
    broker.publish("after", { data: "still here" });
    await waitFor(() => text.includes("data: still here"), "its event");
    after.destroy();
    await waitFor(() => broker.stats().clients === 0, "it to leave");

    function stuckCount(round: number): number {
      let n = 0;
      for (let i = 0; i < STUCK_PER_ROUND; i++) {
        if (broker.publish(`stuck-${round}-${i}`, { data: "probe" }) === 1) n++;
      }
      return n;
    }
  });
});

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
  );
}
