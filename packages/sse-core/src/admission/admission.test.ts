import { once } from "node:events";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { connect, constants, createServer, type Http2ServerResponse } from "node:http2";
import type { AddressInfo } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import {
  cleanupAfterEach,
  type Gate,
  gate,
  listen,
  pipelined,
  type RawClient,
  rawClient,
  recordSubscriptions,
  trackSockets,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, fetchHandler, handler, type Limits } from "../index.js";

// Admission under attack. "Ghosts": subscriptions whose client is gone but
// that nothing removes; they fill maxClients until every new stream is
// refused. Each such test is an attack that used to leave them, and checks
// that the broker is empty afterwards and still serves a real client. Then
// the limits, which must be exact under any timing: every request's async
// authorize settling in the same tick (a shared pending key fetch, pipelined
// Redis replies) used to let all of them through.

const cleanups = cleanupAfterEach();

function newBroker(): EventBroker {
  const broker = new EventBroker();
  cleanups.push(() => broker.close());
  return broker;
}

async function serve(listener: RequestListener) {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return { ...server, sockets: trackSockets(server.server) };
}

/** The status line a fresh client gets for `path` (its stream is closed again). */
async function freshStatus(port: number, path = "/events"): Promise<string> {
  const client = rawClient(port, path);
  cleanups.push(() => client.close());
  await client.ready;
  client.close();
  return client.head.split("\r\n")[0]!;
}

describe("pipelined requests (several GETs on one keep-alive connection)", () => {
  it("2,500 connections × 5 pipelined requests, each closed once answered, with default limits: no client left, a real client gets 200", async () => {
    const broker = newBroker();
    const { port, sockets } = await serve(handler(broker, "news", { keepaliveMs: 0 }));
    const firstAnswers: string[] = [];
    // 10 batches of 250 connections, so that the test holds few sockets at once.
    for (let batch = 0; batch < 10; batch++) {
      const clients = Array.from({ length: 250 }, () => pipelined(port, Array(5).fill("/events")));
      firstAnswers.push(...(await Promise.all(clients.map((client) => client.firstHead))));
      for (const client of clients) client.close();
      await sockets.allClosed();
    }
    expect(broker.stats().clients).toBe(0);
    expect(broker.stats().topics).toBe(0);
    expect(firstAnswers.filter((head) => head.startsWith("HTTP/1.1 200 "))).toHaveLength(2500);
    expect(await freshStatus(port)).toBe("HTTP/1.1 200 OK");
  });

  it("requests pipelined behind a stream are never subscribed, even while the connection stays open", async () => {
    const broker = newBroker();
    const sse = handler(broker, "news", { keepaliveMs: 0, maxClients: 2 });
    let handled = 0;
    const { port, sockets } = await serve((req, res) => {
      handled++;
      sse(req, res);
    });
    const client = pipelined(port, ["/events", "/events", "/events"]);
    expect(await client.firstHead).toMatch(/^HTTP\/1.1 200 /);
    await waitFor(() => handled === 3, "the three requests to reach the handler");
    await tick();
    expect(broker.stats().clients).toBe(1);
    // The connection's own stream is live; the queued requests took no slot.
    broker.publish("news", { data: "live" });
    await waitFor(() => client.received.includes("data: live\n\n"), "the event");
    expect(await freshStatus(port)).toBe("HTTP/1.1 200 OK");
    client.close();
    await sockets.allClosed();
    expect(broker.stats().clients).toBe(0);
  });

  it("a stream pipelined behind another answer gets 503 with Connection: close in its turn, never a subscription", async () => {
    const broker = newBroker();
    const subscribed = recordSubscriptions(broker);
    const sse = handler(broker, "news", { keepaliveMs: 0 });
    const { port } = await serve((req, res) =>
      req.url === "/events" ? sse(req, res) : res.writeHead(204).end(),
    );
    const client = pipelined(port, ["/page", "/events"]);
    const closed = new Promise((resolve) => client.socket.once("close", resolve));
    await waitFor(() => client.received.split("HTTP/1.1 ").length === 3, "both answers");
    const [, page, events] = client.received.split("HTTP/1.1 ");
    expect(page).toMatch(/^204 No Content\r\n/);
    expect(events).toMatch(/^503 Service Unavailable\r\n/);
    expect(events).toMatch(/\r\nConnection: close\r\n/i);
    expect(events).toMatch(/pipelined/);
    // The server closes the connection after it: the client retries on a new one.
    await closed;
    expect(subscribed).toEqual([]);
    expect(broker.stats().clients).toBe(0);
  });
});

describe("clients that leave before the handler runs", () => {
  it("50 clients that leave while an async middleware holds their request are never subscribed; maxClients stays free", async () => {
    const broker = newBroker();
    const subscribed = recordSubscriptions(broker);
    const held = gate();
    const sse = handler(broker, "news", { keepaliveMs: 0, maxClients: 50 });
    let arrived = 0;
    let passed = 0;
    const { port, sockets } = await serve(async (req, res) => {
      arrived++;
      await held.promise; // a session lookup, a rate limiter...
      passed++;
      sse(req, res);
    });
    const clients = Array.from({ length: 50 }, () => rawClient(port, "/events"));
    await waitFor(() => arrived === 50, "every request to reach the middleware");
    for (const client of clients) client.close();
    await sockets.allClosed();
    held.open();
    await waitFor(() => passed === 50, "the middleware to pass every request on");
    await tick();
    expect(broker.stats().clients).toBe(0);
    expect(subscribed).toEqual([]);
    expect(await freshStatus(port)).toBe("HTTP/1.1 200 OK");
  });

  it("over HTTP/2, a stream cancelled while a middleware holds it is never subscribed", async () => {
    const broker = newBroker();
    const held = gate();
    const sse = handler(broker, "news", { keepaliveMs: 0 });
    const responses: Http2ServerResponse[] = [];
    const server = createServer(async (req, res) => {
      responses.push(res);
      await held.promise;
      sse(req, res);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    session.on("error", () => {});
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => session.destroy());
    const left = session.request({ ":path": "/" });
    left.on("error", () => {});
    await waitFor(() => responses.length === 1, "the request to reach the middleware");
    left.close(constants.NGHTTP2_CANCEL);
    await waitFor(() => responses[0]!.stream.destroyed, "the server to see the stream go");
    held.open();
    await tick();
    expect(broker.stats().clients).toBe(0);
    // The same session still gets a stream.
    const stays = session.request({ ":path": "/" });
    stays.on("error", () => {});
    const [headers] = await once(stays, "response");
    expect(headers[":status"]).toBe(200);
    await waitFor(() => broker.stats().clients === 1, "the live stream");
  });

  it("a client gone before the handler runs gets nothing written, not even an error answer", async () => {
    const broker = newBroker();
    const held = gate();
    const sse = handler(broker, "news", { keepaliveMs: 0 });
    const responses: ServerResponse[] = [];
    const { port, sockets } = await serve(async (req: IncomingMessage, res) => {
      responses.push(res);
      await held.promise;
      sse(Object.assign(req, { method: "POST" }), res); // would answer 405
    });
    const client = rawClient(port, "/events");
    await waitFor(() => responses.length === 1, "the request to reach the middleware");
    client.close();
    await sockets.allClosed();
    held.open();
    await tick();
    expect(responses[0]!.headersSent).toBe(false);
  });
});

describe("fetchHandler", () => {
  it("a request aborted while authorize is pending is never subscribed, and its slot comes back", async () => {
    const broker = newBroker();
    const subscribed = recordSubscriptions(broker);
    const held = gate();
    const events = fetchHandler(broker, "news", {
      keepaliveMs: 0,
      maxClients: 1,
      authorize: () => held.promise.then(() => true),
    });
    const controller = new AbortController();
    const answer = events(new Request("http://x/", { signal: controller.signal }));
    controller.abort();
    held.open();
    expect((await answer).status).toBe(499);
    expect(subscribed).toEqual([]);
    const live = await events(new Request("http://x/"));
    expect(live.status).toBe(200);
    await live.body?.cancel();
    expect(broker.stats().clients).toBe(0);
  });
});

/** Opens `n` raw streams on `port`; resolves once each has its answer's head. */
async function open(port: number, n: number): Promise<RawClient[]> {
  const clients = Array.from({ length: n }, () => rawClient(port, "/events"));
  cleanups.push(() => {
    for (const client of clients) client.close();
  });
  await Promise.all(clients.map((client) => client.ready));
  return clients;
}

/** How many answers had each status, e.g. `{ 200: 20, 503: 40 }`. */
function tally(answers: readonly (RawClient | Response)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const status = answer instanceof Response ? answer.status : answer.head.split(" ")[1]!;
    counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

/** An authorize that says yes once `held` opens, counting its calls. */
function heldAuthorize(held: Gate) {
  const authorize = async (): Promise<boolean> => {
    authorize.calls++;
    await held.promise;
    return true;
  };
  authorize.calls = 0;
  return authorize;
}

/**
 * Serves `limits` on a new broker and sends `n` requests at once, whose
 * authorize all wait for one gate, opened once every request is in it.
 * Resolves once every client has its answer's head.
 */
async function floodThroughHeldAuthorize(n: number, limits: Limits) {
  const broker = newBroker();
  const held = gate();
  const authorize = heldAuthorize(held);
  const { port } = await serve(handler(broker, "news", { keepaliveMs: 0, ...limits, authorize }));
  const answers = open(port, n);
  await waitFor(() => authorize.calls === n, "every request to be in authorize");
  held.open();
  return { broker, port, clients: await answers };
}

describe("limits are exact when every async authorize settles in the same tick", () => {
  it("maxClients 20: of 60 such requests exactly 20 stream and 40 get 503; every slot comes back", async () => {
    const { broker, port, clients } = await floodThroughHeldAuthorize(60, { maxClients: 20 });
    expect(tally(clients)).toEqual({ 200: 20, 503: 40 });
    expect(broker.stats().clients).toBe(20);
    for (const client of clients) client.close();
    await waitFor(() => broker.stats().clients === 0, "every stream to leave");
    // No slot was kept by a refused or departed request: 20 streams again.
    expect(tally(await open(port, 20))).toEqual({ 200: 20 });
    expect(tally(await open(port, 1))).toEqual({ 503: 1 });
  });

  it("maxClientsPerAddress 5: of 30 such requests from one address exactly 5 stream and 25 get 429; every slot comes back", async () => {
    const { broker, port, clients } = await floodThroughHeldAuthorize(30, {
      maxClientsPerAddress: 5,
    });
    expect(tally(clients)).toEqual({ 200: 5, 429: 25 });
    for (const client of clients) client.close();
    await waitFor(() => broker.stats().clients === 0, "every stream to leave");
    expect(tally(await open(port, 6))).toEqual({ 200: 5, 429: 1 });
  });

  it("fetchHandler, maxClients 20: of 60 such requests exactly 20 stream and 40 get 503", async () => {
    const broker = newBroker();
    const held = gate();
    const authorize = heldAuthorize(held);
    const events = fetchHandler(broker, "news", { keepaliveMs: 0, maxClients: 20, authorize });
    const answers = Promise.all(Array.from({ length: 60 }, () => events(new Request("http://x/"))));
    await waitFor(() => authorize.calls === 60, "every request to be in authorize");
    held.open();
    const responses = await answers;
    expect(tally(responses)).toEqual({ 200: 20, 503: 40 });
    expect(broker.stats().clients).toBe(20);
    await Promise.all(responses.map((response) => response.body?.cancel()));
    expect(broker.stats().clients).toBe(0);
    const again = await Promise.all(
      Array.from({ length: 21 }, () => events(new Request("http://x/"))),
    );
    expect(tally(again)).toEqual({ 200: 20, 503: 1 });
    await Promise.all(again.map((response) => response.body?.cancel()));
  });
});
