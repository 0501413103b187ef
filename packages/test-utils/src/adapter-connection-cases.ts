/**
 * The shared adapter suite's cases for connections (see
 * {@link describeAdapter}): which are refused (method, `authorize`, hostile
 * topics, limits), and that none is left behind by a client that leaves, a
 * graceful shutdown, or clients that leave before they are subscribed.
 */
import type { Server } from "node:http";
import { expect, it } from "vitest";
import type { SuiteBroker } from "./adapter-harness.js";
import type { AdapterSuiteContext } from "./adapter-suite-context.js";
import { gate, pipelined, trackSockets } from "./connections.js";
import { waitFor } from "./waits.js";

/** Registers, in the calling `describe`, the connection cases. */
export function adapterConnectionCases<B extends SuiteBroker, Req, H>({
  harness,
  served,
  projectTopic,
}: AdapterSuiteContext<B, Req, H>): void {
  const { api, newBroker } = harness;
  const { serve, watch, raw, takeErrors } = served;

  it("a POST to a stream mounted with get is the framework's 404; mounted for every method, 405 with Allow: GET", async () => {
    const broker = newBroker();
    const url = await serve({
      get: { "/get/events": api.handler(broker, "news") },
      all: { "/all/events": api.handler(broker, "news") },
    });
    const onGet = await fetch(`${url}/get/events`, { method: "POST" });
    await onGet.text();
    const onAll = await fetch(`${url}/all/events`, { method: "POST" });
    await onAll.text();
    expect([onGet.status, onAll.status, onAll.headers.get("allow")]).toEqual([404, 405, "GET"]);
    takeErrors(); // express's harness records the 404's fall-through
  });

  it("a client that disconnects is unsubscribed, with nothing for error handling", async () => {
    const broker = newBroker();
    const url = await serve({ get: { "/events": api.handler(broker, "news") } });
    const client = watch(`${url}/events`, ["news"]);
    await client.opened;
    await waitFor(() => broker.stats().clients === 1, "one client");
    client.close();
    await waitFor(() => broker.stats().clients === 0, "the client to be unsubscribed");
    // afterEach checks that nothing reached the framework's error handling.
  });

  it("shuts down gracefully: broker.close(), then server.close() completes", async () => {
    const broker = newBroker();
    const url = await serve({ get: { "/events": api.handler(broker, ["news", "status"]) } });
    const watchers = [1, 2, 3].map(() => watch(`${url}/events`, ["news"]));
    await Promise.all(watchers.map((w) => w.opened));
    await waitFor(() => broker.stats().clients === 3, "three clients");
    broker.close();
    await closeGracefully(served.running!.server.server);
    expect(broker.stats().clients).toBe(0);
  });

  it("authorize gets the framework's request and the topics; false answers 403, subscribing nothing", async () => {
    const broker = newBroker();
    const seen: [string, readonly string[]][] = [];
    const authorize = (req: Req, topics: readonly string[]) => {
      seen.push([harness.param(req, "id"), topics]);
      return harness.header(req, "x-user") === "member";
    };
    const url = await serve({
      all: {
        "/projects/:id/events": api.handlerFunc(broker, projectTopic, {
          keepaliveMs: 0,
          authorize,
        }),
      },
    });
    expect((await fetch(`${url}/projects/42/events`)).status).toBe(403);
    expect(broker.stats().clients).toBe(0);
    const member = raw(url, "/projects/42/events", { "X-User": "member" });
    await member.ready;
    expect(member.head).toMatch(/^HTTP\/1.1 200/);
    expect(seen).toEqual([
      ["42", ["project:42"]],
      ["42", ["project:42"]],
    ]);
    broker.publish("project:42", { data: "hello" });
    await waitFor(() => member.events.length === 1, "the member's event");
  });

  it("an async authorize that throws an HTTP error answers its status (contextHandlerFunc)", async () => {
    const broker = newBroker();
    const authorize = async () => {
      throw Object.assign(new Error("log in first"), { status: 401 });
    };
    const url = await serve({
      use: api.middleware(broker),
      all: {
        "/projects/:id/events": api.contextHandlerFunc(projectTopic, {
          keepaliveMs: 0,
          authorize,
        }),
      },
    });
    const response = await fetch(`${url}/projects/1/events`);
    expect([response.status, await response.text()]).toEqual([401, "log in first"]);
    expect(broker.stats().clients).toBe(0);
  });

  it("answers 405 with Allow: GET, 400 for hostile topics, and streams whatever Accept says", async () => {
    const broker = newBroker();
    const url = await serve({
      all: { "/projects/:id/events": api.handlerFunc(broker, projectTopic, { keepaliveMs: 0 }) },
    });
    const post = await fetch(`${url}/projects/1/events`, { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET"]);
    const hostile = await fetch(`${url}/projects/${encodeURIComponent("a\u0000b")}/events`);
    expect(hostile.status).toBe(400);
    const long = await fetch(`${url}/projects/${"x".repeat(200)}/events`);
    expect(long.status).toBe(400);
    expect(await long.text()).toMatch(/topic too long/);
    const json = await fetch(`${url}/projects/1/events`, {
      headers: { Accept: "application/json" },
    });
    expect(json.status).toBe(200);
    expect(json.headers.get("content-type")).toBe("text/event-stream");
    await json.body?.cancel();
    await waitFor(() => broker.stats().clients === 0, "the cancelled stream to leave");
  });

  it("answers 503 with Retry-After past maxClients", async () => {
    const broker = newBroker();
    const url = await serve({
      get: { "/events": api.handler(broker, "news", { keepaliveMs: 0, maxClients: 1 }) },
    });
    await raw(url, "/events").ready;
    const refused = await fetch(`${url}/events`);
    expect([refused.status, refused.headers.get("retry-after")]).toEqual([503, "5"]);
    expect(broker.stats().clients).toBe(1);
  });

  it("leaves no client behind 50 connections that each pipelined 5 streams, then closed; a real client then streams", async () => {
    const broker = newBroker();
    const url = await serve({
      get: { "/events": api.handler(broker, "news", { keepaliveMs: 0, maxClients: 50 }) },
    });
    const { server, port } = served.running!.server;
    const sockets = trackSockets(server);
    const clients = Array.from({ length: 50 }, () => pipelined(port, Array(5).fill("/events")));
    const heads = await Promise.all(clients.map((client) => client.firstHead));
    for (const client of clients) client.close();
    await sockets.allClosed();
    expect(broker.stats().clients).toBe(0);
    expect(heads.filter((head) => head.startsWith("HTTP/1.1 200 "))).toHaveLength(50);
    const real = raw(url, "/events");
    await real.ready;
    expect(real.head).toMatch(/^HTTP\/1.1 200 /);
  });

  it("never subscribes 20 clients that left while an async middleware held them; a real client then streams", async () => {
    const broker = newBroker();
    const held = gate();
    let arrived = 0;
    const url = await serve({
      use: harness.hold(held.promise, () => arrived++),
      get: { "/events": api.handler(broker, "news", { keepaliveMs: 0, maxClients: 20 }) },
    });
    const sockets = trackSockets(served.running!.server.server);
    const leavers = Array.from({ length: 20 }, () => raw(url, "/events"));
    await waitFor(() => arrived === 20, "every request to reach the middleware");
    for (const client of leavers) client.close();
    await sockets.allClosed();
    held.open();
    // A real client, once the middleware let everyone through: it finds room.
    const real = raw(url, "/events");
    await real.ready;
    expect(real.head).toMatch(/^HTTP\/1.1 200 /);
    expect(broker.stats().clients).toBe(1);
    real.close();
    await waitFor(() => broker.stats().clients === 0, "the real client to leave");
  });

  it("answers 429 past maxClientsPerAddress", async () => {
    const broker = newBroker();
    const url = await serve({
      get: {
        "/events": api.handler(broker, "news", { keepaliveMs: 0, maxClientsPerAddress: 1 }),
      },
    });
    await raw(url, "/events").ready;
    expect((await fetch(`${url}/events`)).status).toBe(429);
    expect(broker.stats().clients).toBe(1);
  });
}

/** `server.close()` as a promise: resolves once every connection has ended. */
function closeGracefully(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
