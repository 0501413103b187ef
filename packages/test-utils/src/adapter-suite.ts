/**
 * The behaviour every framework adapter (`@burrow/sse-express`,
 * `@burrow/sse-koa`) must show, as one vitest suite run against each: the
 * adapter's test supplies how its framework mounts routes and how a topic
 * function reads the request; the suite checks, on a real server with the
 * `eventsource` client, that the translation reaches core.
 */
import type { Server } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AdapterHarness, SuiteBroker, SuiteTopicsFn } from "./adapter-harness.js";
import { describeAwaitedReplay } from "./awaited-replay-suite.js";
import { rawClient, recordEvents } from "./clients.js";
import { gate, pipelined, trackSockets } from "./connections.js";
import { describeHtmx } from "./htmx-suite.js";
import { describePresence } from "./presence-suite.js";
import type { TestServer } from "./server.js";
import { describeSnapshots } from "./snapshot-suite.js";
import { thrownBy, waitFor } from "./waits.js";

/** What every harness's error handling answers (with status 500), as an app's own error page. */
export const APP_ERROR_PAGE = "app error page";

/** Runs the shared adapter suite against `harness`. */
export function describeAdapter<B extends SuiteBroker, Req, H>(
  name: string,
  harness: AdapterHarness<B, Req, H>,
): void {
  const { api, newBroker } = harness;

  describe(`${name}: shared adapter behaviour`, () => {
    let running: { server: TestServer; errors: unknown[] } | undefined;
    const clients: { close(): void }[] = [];
    const cleanupSpy: (() => void)[] = [];
    afterEach(async () => {
      for (const restore of cleanupSpy.splice(0)) restore();
      for (const client of clients.splice(0)) client.close();
      await running?.server.close();
      expect(running?.errors ?? []).toEqual([]);
      running = undefined;
    });

    async function serve(routes: Parameters<typeof harness.serve>[0]): Promise<string> {
      running = await harness.serve(routes);
      return running.server.url;
    }

    function watch(url: string, types: readonly string[], headers: Record<string, string> = {}) {
      const client = recordEvents(url, types, {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
      });
      clients.push(client);
      return client;
    }

    const projectTopic: SuiteTopicsFn<Req> = (req) => `project:${harness.param(req, "id")}`;

    /** Clients of project 42 and 43 each receive their own project's events only. */
    async function expectProjectsIsolated(url: string, broker: B): Promise<void> {
      const topics = ["project:42", "project:43"];
      const p42 = watch(`${url}/projects/42/events`, topics);
      const p43 = watch(`${url}/projects/43/events`, topics);
      await Promise.all([p42.opened, p43.opened]);
      await waitFor(() => broker.stats().topics === 2, "both projects subscribed");
      broker.publish("project:42", { data: "for 42" });
      broker.publish("project:43", { data: "for 43" });
      await Promise.all([p42.waitForCount(1), p43.waitForCount(1)]);
      broker.publish("project:42", { data: "42 again" });
      await p42.waitForCount(2);
      expect(p42.events).toEqual([
        { event: "project:42", data: "for 42", id: "" },
        { event: "project:42", data: "42 again", id: "" },
      ]);
      expect(p43.events).toEqual([{ event: "project:43", data: "for 43", id: "" }]);
    }

    it("middleware puts the broker on requests: a POST publishes through brokerFrom", async () => {
      const url = await serve({
        use: api.middleware(newBroker()),
        get: { "/events": api.contextHandler("notifications") },
        post: {
          "/notes": (req) =>
            api.brokerFrom(req)?.publish("notifications", { data: "<li>buy milk</li>" }),
        },
      });
      const client = watch(`${url}/events`, ["notifications"]);
      await client.opened;
      expect((await fetch(`${url}/notes`, { method: "POST" })).status).toBe(204);
      expect(await client.waitForCount(1)).toEqual([
        { event: "notifications", data: "<li>buy milk</li>", id: "" },
      ]);
    });

    it("middleware resolves a function source per request: a broker created later works", async () => {
      let broker: B | undefined;
      const url = await serve({
        use: api.middleware(() => broker),
        get: { "/events": api.contextHandler("news") },
      });
      expect((await fetch(`${url}/events`)).status).toBe(500);
      await waitFor(() => running!.errors.length === 1, "the missing broker to be reported");
      expect(running!.errors.splice(0)[0]).toMatchObject({ name: "SSEMissingBrokerError" });
      broker = newBroker();
      const client = watch(`${url}/events`, ["news"]);
      await client.opened;
      broker.publish("news", { data: "booted" });
      expect((await client.waitForCount(1))[0]?.data).toBe("booted");
    });

    it("streamHandler answers any method with the request's own stream, then ends", async () => {
      let seen: Req | undefined;
      const url = await serve({
        all: {
          "/reports/:id": api.streamHandler(
            async (stream, req) => {
              seen = req;
              for (const step of ["1/2", "2/2"]) await stream.send({ data: `<p>${step}</p>` });
              await stream.send({ type: "done", data: harness.param(req, "id") });
            },
            { authorize: (req) => harness.header(req, "x-user") !== "bob" },
          ),
        },
      });
      const refused = await fetch(`${url}/reports/7`, {
        method: "POST",
        headers: { "x-user": "bob" },
      });
      expect(refused.status).toBe(403);
      await refused.text();
      const response = await fetch(`${url}/reports/7`, { method: "POST" });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/event-stream");
      expect(await response.text()).toBe(
        "data: <p>1/2</p>\n\ndata: <p>2/2</p>\n\nevent: done\ndata: 7\n\n",
      );
      expect(harness.param(seen as Req, "id")).toBe("7");
    });

    it("streamHandler: a client that leaves aborts the producer, with nothing for error handling", async () => {
      let aborted = false;
      const url = await serve({
        all: {
          "/reports/:id": api.streamHandler(async (stream) => {
            await stream.send({ data: "started" });
            await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
            aborted = true;
          }),
        },
      });
      const controller = new AbortController();
      const response = await fetch(`${url}/reports/1`, {
        method: "POST",
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      controller.abort();
      await waitFor(() => aborted, "the producer saw the client leave");
    });

    it("handler streams several topics on one endpoint; each listener gets only its topic", async () => {
      const broker = newBroker();
      const url = await serve({
        get: { "/events": api.handler(broker, ["notifications", "status"]) },
      });
      const notifications = watch(`${url}/events`, ["notifications"]);
      const status = watch(`${url}/events`, ["status"]);
      await Promise.all([notifications.opened, status.opened]);
      broker.publish("notifications", { data: "<li>note</li>" });
      broker.publish("status", { data: "online" });
      broker.publish("notifications", { data: "<li>another</li>" });
      await Promise.all([notifications.waitForCount(2), status.waitForCount(1)]);
      expect(notifications.events.map((e) => `${e.event} ${e.data}`)).toEqual([
        "notifications <li>note</li>",
        "notifications <li>another</li>",
      ]);
      expect(status.events.map((e) => `${e.event} ${e.data}`)).toEqual(["status online"]);
    });

    it("handlerFunc takes topics from route parameters, isolating projects", async () => {
      const broker = newBroker();
      const url = await serve({
        get: { "/projects/:id/events": api.handlerFunc(broker, projectTopic) },
      });
      await expectProjectsIsolated(url, broker);
    });

    it("contextHandlerFunc accepts an async topic function", async () => {
      const broker = newBroker();
      const url = await serve({
        use: api.middleware(broker),
        get: {
          "/projects/:id/events": api.contextHandlerFunc(async (req) => {
            await new Promise((resolve) => setImmediate(resolve));
            return projectTopic(req);
          }),
        },
      });
      await expectProjectsIsolated(url, broker);
    });

    it("a topic function's error with status 403 answers 403 and subscribes nothing", async () => {
      const broker = newBroker();
      const url = await serve({
        get: {
          "/projects/:id/events": api.handlerFunc(broker, (req) => {
            if (harness.header(req, "x-user") !== "member") {
              throw Object.assign(new Error("not a member"), { status: 403 });
            }
            return projectTopic(req);
          }),
        },
      });
      const refused = await fetch(`${url}/projects/42/events`);
      expect([refused.status, await refused.text()]).toEqual([403, "not a member"]);
      expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
      const member = watch(`${url}/projects/42/events`, ["project:42"], { "x-user": "member" });
      await member.opened;
      expect(broker.stats().clients).toBe(1);
    });

    /** What reached the framework's error handling so far, taken (afterEach wants none left). */
    function takeErrors(): unknown[] {
      return running!.errors.splice(0);
    }

    /** What a user's `req.query.project.toLowerCase()` throws on a missing parameter. */
    const bug = (): never => {
      throw new TypeError("Cannot read properties of undefined (reading 'toLowerCase')");
    };

    it.each([
      ["contextHandler", () => api.contextHandler("news")],
      ["contextHandlerFunc", () => api.contextHandlerFunc(() => "news")],
    ])(
      "%s without the middleware hands the error naming the fix to error handling, which answers it",
      async (_, make) => {
        const url = await serve({ get: { "/events": make() } });
        const response = await fetch(`${url}/events`);
        expect([response.status, await response.text()]).toEqual([500, APP_ERROR_PAGE]);
        await waitFor(() => running!.errors.length > 0, "the error to reach error handling");
        const [error, ...more] = takeErrors();
        expect(more).toEqual([]);
        expect(error).toMatchObject({
          name: "SSEMissingBrokerError",
          status: 500,
          message: `sse: no broker on this request: ${harness.noBrokerFix}`,
        });
      },
    );

    it.each([
      ["a topic function that throws", () => ({ topics: bug, options: {} })],
      [
        "an authorize that rejects",
        () => ({
          topics: () => "news",
          options: {
            authorize: async () => {
              await new Promise((resolve) => setImmediate(resolve));
              return bug();
            },
          },
        }),
      ],
    ])("%s: the error once to error handling, which answers it, per request", async (_, make) => {
      const { topics, options } = make();
      const broker = newBroker();
      const url = await serve({ get: { "/events": api.handlerFunc(broker, topics, options) } });
      for (let i = 1; i <= 2; i++) {
        const response = await fetch(`${url}/events`);
        expect([response.status, await response.text()]).toEqual([500, APP_ERROR_PAGE]);
        await waitFor(() => running!.errors.length === 1, "the error to reach error handling");
        const [error] = takeErrors();
        expect(error).toBeInstanceOf(TypeError);
      }
      expect(broker.stats().clients).toBe(0);
    });

    it("a user's onError wins: it gets (error, req), the framework's error handling nothing", async () => {
      const seen: [unknown, string][] = [];
      const url = await serve({
        use: api.middleware(newBroker()),
        get: {
          "/projects/:id/events": api.contextHandlerFunc(bug, {
            onError: (error, req) => seen.push([error, harness.param(req, "id")]),
          }),
        },
      });
      const response = await fetch(`${url}/projects/7/events`);
      expect([response.status, await response.text()]).toEqual([500, "sse: internal error"]);
      await waitFor(() => seen.length === 1, "onError");
      expect(seen[0]![0]).toBeInstanceOf(TypeError);
      expect(seen[0]![1]).toBe("7");
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(takeErrors()).toEqual([]);
    });

    it("requireBroker without the middleware throws the error naming the fix into error handling; brokerFrom stays undefined", async () => {
      const found: unknown[] = [];
      const url = await serve({
        post: {
          "/notes": (req) => {
            found.push(api.brokerFrom(req));
            api.requireBroker(req).publish("notes", { data: "lost" });
          },
        },
      });
      const response = await fetch(`${url}/notes`, { method: "POST" });
      await response.text();
      expect(response.status).toBe(500);
      expect(found).toEqual([undefined]);
      await waitFor(() => running!.errors.length === 1, "the error to reach error handling");
      expect(takeErrors()[0]).toMatchObject({
        name: "SSEMissingBrokerError",
        message: `sse: no broker on this request: ${harness.noBrokerFix}`,
      });
    });

    it("streamHandler: a producer that throws after its 200 ends the stream and is reported once, where nothing can write", async () => {
      const logged = vi.spyOn(console, "error").mockImplementation(() => {});
      cleanupSpy.push(() => logged.mockRestore());
      const url = await serve({
        all: {
          "/reports/:id": api.streamHandler(async (stream) => {
            await stream.send({ data: "started" });
            throw new Error("render failed");
          }),
        },
      });
      const response = await fetch(`${url}/reports/1`, { method: "POST" });
      expect([response.status, await response.text()]).toEqual([200, "data: started\n\n"]);
      if (harness.startedStreamErrors === "log") {
        await waitFor(() => logged.mock.calls.length === 1, "the error to be logged");
        expect(logged.mock.calls[0]).toContainEqual(
          expect.objectContaining({ message: "render failed" }),
        );
      } else {
        await waitFor(() => running!.errors.length === 1, "the error to reach error handling");
        expect(takeErrors()[0]).toMatchObject({ message: "render failed" });
        expect(logged).not.toHaveBeenCalled();
      }
    });

    it("wrong arguments throw SSEOptionError at creation, naming them", () => {
      const broker = newBroker();
      const cases: [() => unknown, RegExp][] = [
        [() => api.handler(undefined as never, "t"), /^sse: broker: must be an EventBroker/],
        [() => api.handlerFunc(broker, "t" as never), /^sse: topicsFn: must be a function/],
        [() => api.handler(broker, "t", 5000 as never), /^sse: options: must be an object/],
        [() => api.handler(broker, 42 as never), /^sse: topics: must be a topic name/],
        [
          () => api.handler(broker, "t", { authorize: true as never }),
          /^sse: authorize: must be a function/,
        ],
        [() => api.contextHandler("t", { keepAlive: 1 } as never), /did you mean `keepaliveMs`\?$/],
        [
          () => api.handler(broker, ["notes", "status"], { swap: { note: "#notes" } }),
          /^sse: swap\.note: names none of this handler's topics \(notes, status\), got "#notes" \(a string\) — did you mean `notes`\?$/,
        ],
        [() => api.contextHandler("notes", { swap: { note: "#n" } }), /^sse: swap\.note: /],
        [() => api.handler(broker, "t", { maxClients: "100" as never }), /got "100" \(a string\)/],
        [() => api.middleware(undefined as never), /^sse: source: /],
        [
          () => api.streamHandler(async () => {}, { bufferSize: "8" } as never),
          /^sse: bufferSize: must be a number, got "8" \(a string\)/,
        ],
      ];
      for (const [make, message] of cases) {
        const err = thrownBy(make) as Error;
        expect(err.name).toBe("SSEOptionError");
        expect(err.message).toMatch(message);
      }
    });

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
      await closeGracefully(running!.server.server);
      expect(broker.stats().clients).toBe(0);
    });

    function raw(url: string, path: string, headers: Record<string, string> = {}) {
      const client = rawClient(Number(new URL(url).port), path, { headers });
      clients.push(client);
      return client;
    }

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
      const { server, port } = running!.server;
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
      const sockets = trackSockets(running!.server.server);
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
  });

  describeHtmx(name, harness);
  describePresence(name, harness);
  describeSnapshots(name, harness);
  describeAwaitedReplay(name, harness);
}

/** `server.close()` as a promise: resolves once every connection has ended. */
function closeGracefully(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
