// The storm's native load generator (lib/storm-gen.c through
// lib/storm-native.mjs) against a hand-written server: it reads heads and
// chunked bodies split anywhere, and counts what the JavaScript generator
// counts (lost, duplicated, reordered, wrong id, foreign, a refused connect).

import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { now } from "./proc.mjs";
import { closeNative, nativeStorm } from "./storm-native.mjs";

const cleanups = [];
afterEach(async () => {
  closeNative();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const ids = [["a-0", "a-1", "a-2", "a-3", "a-4"]];
const event = (id, seq, topic = "room-0") => `id: ${id}\ndata: ${topic} ${seq} xx\n\n`;

/** A server whose answer to the n-th request is `bodies[n]`, chunked, written a few bytes at a time. */
async function crafted(bodies) {
  let n = 0;
  const server = net.createServer((socket) => {
    const body = bodies[n++];
    socket.once("data", async () => {
      const chunk = `${body.length.toString(16)}\r\n${body}\r\n`;
      const bytes = `HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`;
      for (let at = 0; at < bytes.length; at += 7) {
        socket.write(bytes.slice(at, at + 7));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
    socket.on("error", () => {});
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return server.address().port;
}

const opts = (port, n) => ({
  port,
  ids,
  perTopic: 5,
  n,
  gen: 0,
  generators: 1,
  topics: 1,
  spread: 1,
  spreadMs: 10,
  quietMs: 1500,
  timeoutMs: 30_000,
  startAt: now() + 50,
});

describe("the native storm generator (a C compiler needed: .ci/run installs gcc)", () => {
  it("reads a replay split every 7 bytes and finds it complete", async () => {
    const port = await crafted([
      event("a-1", 1) + event("a-2", 2) + event("a-3", 3) + event("a-4", 4),
    ]);
    const { clients, ended } = await nativeStorm(opts(port, 1));
    expect(ended).toBe("every client has its replay or failed");
    expect(clients[0]).toMatchObject({
      status: 200,
      expected: 4,
      got: 4,
      duplicated: 0,
      reordered: 0,
    });
    expect(clients[0].headAt).toBeGreaterThanOrEqual(clients[0].connectAt);
    expect(clients[0].doneAt).toBeGreaterThanOrEqual(clients[0].headAt);
  });

  it("counts a duplicate, a reordering, a wrong id, a foreign event and a loss", async () => {
    const body =
      event("a-0", 0) + // before its Last-Event-ID: a duplicate
      event("a-3", 3) +
      event("a-2", 2) + // after 3: reordered
      event("zz", 1) + // after 3 too (reordered), and its id is not the topic's: wrong
      event("b-1", 1, "room-9") + // another topic's
      event("a-3", 3); // again: a duplicate; 4 never comes (lost)
    const port = await crafted([body]);
    const { clients } = await nativeStorm(opts(port, 1));
    expect(clients[0]).toMatchObject({
      expected: 4,
      got: 3,
      duplicated: 2,
      reordered: 2,
      wrongId: 1,
      foreign: 1,
      doneAt: 0,
    });
  });

  it("reports a refused connect as a failure at connect", async () => {
    const port = await crafted([]);
    await cleanups.pop()(); // closed: nothing listens on the port now
    const { clients } = await nativeStorm(opts(port, 1));
    expect(clients[0]).toMatchObject({ headAt: 0, failure: "connect failed" });
  });
});
