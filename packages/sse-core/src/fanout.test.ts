import type { ServerResponse } from "node:http";
import { connect } from "node:net";
import {
  cleanupAfterEach,
  listen,
  type RawClient,
  rawClient,
  type TestServer,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, encodeEvent, handler, handlerFunc } from "./index.js";

// The fan-out fast paths (see docs/performance.md): a tick's events joined
// once and shared by every client holding the same frames, and pre-framed
// HTTP/1.1 chunks written straight to the socket. These check the bytes each
// client gets, on the fast path and where it must not be taken.

const cleanups = cleanupAfterEach();

async function serve(listener: Parameters<typeof listen>[0]): Promise<TestServer> {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return server;
}

function raw(port: number, path = "/"): RawClient {
  const client = rawClient(port, path);
  cleanups.push(() => client.close());
  return client;
}

const topicsOf = (url: string | undefined): string[] =>
  new URL(url ?? "/", "http://x").searchParams.getAll("topic");

describe("fan-out fast paths", () => {
  it("gives each client exactly its own events when a tick's frames are joined and shared", async () => {
    const broker = new EventBroker({ bufferSize: 64 });
    const server = await serve(handlerFunc(broker, (req) => topicsOf(req.url)));
    // Same count, same first and last frame, different middle: a join may not be shared.
    const a = raw(server.port, "/?topic=x&topic=y");
    const b = raw(server.port, "/?topic=x&topic=z");
    const c = raw(server.port, "/?topic=x&topic=y");
    await Promise.all([a.ready, b.ready, c.ready]);
    await waitFor(() => broker.stats().clients === 3);
    const x1 = { data: "x1" };
    const y1 = { data: "y1" };
    const z1 = { data: "z1" };
    const x2 = { data: "x2" };
    broker.publish("x", x1);
    broker.publish("y", y1);
    broker.publish("z", z1);
    broker.publish("x", x2);
    const withY = [
      { ...x1, type: "x" },
      { ...y1, type: "y" },
      { ...x2, type: "x" },
    ];
    const withZ = [
      { ...x1, type: "x" },
      { ...z1, type: "z" },
      { ...x2, type: "x" },
    ];
    await waitFor(() => a.events.length === 3 && b.events.length === 3 && c.events.length === 3);
    expect(a.body).toBe(withY.map(encodeEvent).join(""));
    expect(b.body).toBe(withZ.map(encodeEvent).join(""));
    expect(c.body).toBe(a.body);
  });

  it("delivers a burst byte for byte to many clients, in order, as valid HTTP/1.1 chunks", async () => {
    const broker = new EventBroker();
    const server = await serve(handler(broker, "news"));
    const clients = Array.from({ length: 40 }, () => raw(server.port));
    await Promise.all(clients.map((client) => client.ready));
    await waitFor(() => broker.stats().clients === clients.length);
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      const event = { data: `<li>${i} ünïcödé</li>`, id: String(i) };
      broker.publish("news", event);
      expected.push(encodeEvent({ ...event, type: "news" }));
    }
    await waitFor(() => clients.every((client) => client.events.length === 10));
    for (const client of clients) expect(client.body).toBe(expected.join(""));
    broker.close();
    await waitFor(() => clients.every((client) => client.finished));
  });

  it("writes through a response whose write was wrapped by middleware", async () => {
    const broker = new EventBroker();
    const seen: string[] = [];
    const events = handler(broker, "news", { reconnectWindowMs: 0 });
    const server = await serve((req, res: ServerResponse) => {
      // What compression or logging middleware does.
      const write = res.write.bind(res) as (chunk: Uint8Array) => boolean;
      res.write = ((chunk: Uint8Array) => {
        seen.push(Buffer.from(chunk).toString());
        return write(chunk);
      }) as typeof res.write;
      events(req, res);
    });
    const client = raw(server.port);
    await client.ready;
    await waitFor(() => broker.stats().clients === 1);
    broker.publish("news", { data: "one" });
    await waitFor(() => client.events.length === 1);
    expect(seen.join("")).toBe(encodeEvent({ type: "news", data: "one" }));
    expect(client.body).toBe(seen.join(""));
  });

  it("streams unframed bytes to an HTTP/1.0 client", async () => {
    const broker = new EventBroker();
    const server = await serve(handler(broker, "news", { reconnectWindowMs: 0 }));
    const socket = connect(server.port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.write("GET / HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
    await waitFor(() => broker.stats().clients === 1);
    broker.publish("news", { data: "one" });
    broker.publish("news", { data: "two" });
    const body =
      encodeEvent({ type: "news", data: "one" }) + encodeEvent({ type: "news", data: "two" });
    await waitFor(() => received.endsWith(body));
    expect(received.startsWith("HTTP/1.1 200")).toBe(true);
    expect(received.toLowerCase()).not.toContain("transfer-encoding: chunked");
    expect(received.slice(received.indexOf("\r\n\r\n") + 4)).toBe(body);
  });
});
