import { once } from "node:events";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type IncomingHttpHeaders,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { cleanupAfterEach, parseSSE, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, encodeEvent, handler, handlerFunc } from "../index.js";

const cleanups = cleanupAfterEach();

/** An h2c (HTTP/2 without TLS) server on 127.0.0.1, closed after the test. */
async function serveH2(
  listener: Parameters<typeof createServer>[1],
): Promise<{ server: Http2Server; url: string }> {
  const server = createServer(listener);
  const sessions = new Set<{ destroy(): void }>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  );
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** One GET stream on an h2c session: its response headers and decoded body so far. */
interface H2Stream {
  session: ClientHttp2Session;
  stream: ClientHttp2Stream;
  headers: Promise<IncomingHttpHeaders>;
  body: string;
  ended: boolean;
}

function get(url: string, path = "/", headers: Record<string, string> = {}): H2Stream {
  const session = connect(url);
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  const stream = session.request({ ":path": path, accept: "text/event-stream", ...headers });
  stream.on("error", () => {});
  stream.setEncoding("utf8");
  const h2: H2Stream = {
    session,
    stream,
    headers: new Promise((resolve) => stream.once("response", (headers) => resolve(headers))),
    body: "",
    ended: false,
  };
  stream.on("data", (chunk: string) => {
    h2.body += chunk;
  });
  stream.once("end", () => {
    h2.ended = true;
  });
  return h2;
}

describe("handler on node:http2 (h2c)", () => {
  it("answers 200 with the stream headers and no connection header", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { url } = await serveH2(handler(broker, "news", { keepaliveMs: 0 }));
    const client = get(url);
    const headers = await client.headers;
    expect(headers[":status"]).toBe(200);
    expect(headers["content-type"]).toBe("text/event-stream");
    expect(headers["cache-control"]).toBe("no-cache, no-transform");
    expect(headers["x-accel-buffering"]).toBe("no");
    // Connection-specific headers are forbidden in HTTP/2.
    expect(headers.connection).toBeUndefined();
    expect(headers["transfer-encoding"]).toBeUndefined();
    // Flushed before anything was published.
    expect(broker.stats().published).toBe(0);
  });

  it("streams the events of its topics, and only those", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { url } = await serveH2(
      handlerFunc<Http2ServerRequest>(
        broker,
        (req) => `room:${new URL(req.url ?? "/", "http://x").searchParams.get("room")}`,
        {
          keepaliveMs: 0,
        },
      ),
    );
    const client = get(url, "/?room=42");
    await client.headers;
    await waitFor(() => broker.stats().clients === 1, "the subscription");
    broker.publish("room:43", { data: "other room" });
    broker.publish("room:42", { data: "line 1\nline 2" });
    broker.publish("room:42", { id: "2", data: "end" });
    const expected =
      encodeEvent({ type: "room:42", data: "line 1\nline 2" }) +
      encodeEvent({ type: "room:42", id: "2", data: "end" });
    await waitFor(() => client.body.length >= expected.length, "both events");
    expect(client.body).toBe(expected);
    expect(parseSSE(client.body).events.map((e) => e.data)).toEqual(["line 1\nline 2", "end"]);
  });

  it("without swap, an htmx 4 request (HX-Request) gets unnamed messages, another named events", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { url } = await serveH2(handler(broker, "news", { keepaliveMs: 0 }));
    const v4 = get(url, "/", { "hx-request": "true" });
    const v2 = get(url);
    await Promise.all([v4.headers, v2.headers]);
    await waitFor(() => broker.stats().clients === 2, "both subscriptions");
    broker.publish("news", { data: "<p>n</p>" });
    await waitFor(() => v4.body !== "" && v2.body !== "", "the event on both");
    expect(v4.body).toBe(encodeEvent({ data: "<p>n</p>" }));
    expect(v2.body).toBe(encodeEvent({ type: "news", data: "<p>n</p>" }));
  });

  it("sends the keepalive comment", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { url } = await serveH2(handler(broker, "news", { keepaliveMs: 30 }));
    const client = get(url);
    await client.headers;
    await waitFor(() => parseSSE(client.body).comments.includes("keepalive"), "a keepalive");
  });

  it("closing the client stream unsubscribes", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { url } = await serveH2(handler(broker, ["a", "b"], { keepaliveMs: 0 }));
    const client = get(url);
    await client.headers;
    await waitFor(() => broker.stats().clients === 1, "the subscription");
    expect(broker.stats().topics).toBe(2);
    client.stream.close();
    await waitFor(() => broker.stats().clients === 0, "the unsubscribe");
    expect(broker.stats().topics).toBe(0);
    expect(broker.publish("a", { data: "nobody" })).toBe(0);
  });

  it("broker.close() flushes what is queued, ends the stream, and lets the server close", async () => {
    const broker = new EventBroker();
    const { server, url } = await serveH2(
      handler(broker, "news", { keepaliveMs: 0, reconnectWindowMs: 0 }),
    );
    const clients = Array.from({ length: 5 }, () => get(url));
    await Promise.all(clients.map((c) => c.headers));
    await waitFor(() => broker.stats().clients === 5, "5 subscriptions");

    broker.publish("news", { data: "bye" });
    broker.close();
    await waitFor(() => clients.every((c) => c.ended), "every stream to end");
    for (const client of clients) {
      expect(client.body).toBe(encodeEvent({ type: "news", data: "bye" }));
      client.session.close();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(broker.stats().clients).toBe(0);
  });
});
