// The limits and authorization of @burrow/sse-core's HandlerOptions, through
// express (4 and 5): the same answers as core's handlers, with `authorize`
// receiving express's `req` (route parameters included), nothing subscribed
// for a refused request, and nothing reaching express's error handling.
import { EventBroker, type HandlerOptions } from "@burrow/sse-core";
import { cleanupAfterEach, listen, rawClient, waitFor } from "@burrow/test-utils";
import express, { type NextFunction, type Request, type Response } from "express";
import express4 from "express4";
import { describe, expect, it } from "vitest";
import { contextHandlerFunc, handler, handlerFunc, middleware } from "./index.js";

const cleanups = cleanupAfterEach();

for (const [version, createApp] of [
  ["express 5", express],
  ["express 4", express4],
] as const) {
  describe(`${version}: limits and authorize`, () => {
    /** Serves `events` on every method at /projects/:id/events, recording errors. */
    async function serve(events: express.RequestHandler, use?: express.RequestHandler) {
      const errors: unknown[] = [];
      const app = createApp();
      if (use) app.use(use);
      app.all("/projects/:id/events", events);
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        errors.push(err);
        res.status(500).end();
      });
      const server = await listen(app);
      cleanups.push(() => expect(errors).toEqual([]));
      cleanups.push(() => server.close());
      return server;
    }
    const project = (req: Request) => `project:${req.params.id}`;

    it("authorize gets express's req and the topics; false answers 403, subscribing nothing", async () => {
      const broker = new EventBroker();
      const seen: [string, readonly string[]][] = [];
      const options: HandlerOptions<Request> = {
        keepaliveMs: 0,
        authorize: (req, topics) => {
          seen.push([String(req.params.id), topics]);
          return req.get("x-user") === "member";
        },
      };
      const { url, port } = await serve(handlerFunc(broker, project, options));
      const refused = await fetch(`${url}/projects/42/events`);
      expect(refused.status).toBe(403);
      expect(broker.stats().clients).toBe(0);
      const member = rawClient(port, "/projects/42/events", { headers: { "X-User": "member" } });
      cleanups.push(() => member.close());
      await member.ready;
      expect(member.head).toMatch(/^HTTP\/1.1 200/);
      expect(seen).toEqual([
        ["42", ["project:42"]],
        ["42", ["project:42"]],
      ]);
      broker.publish("project:42", { data: "hello" });
      await waitFor(() => member.events.length === 1, "the member's event");
    });

    it("an async authorize that throws an HTTP error answers its status; contextHandlerFunc too", async () => {
      const broker = new EventBroker();
      const authorize = async () => {
        throw Object.assign(new Error("log in first"), { status: 401 });
      };
      const { url } = await serve(
        contextHandlerFunc(project, { keepaliveMs: 0, authorize }),
        middleware(broker),
      );
      const response = await fetch(`${url}/projects/1/events`);
      expect(response.status).toBe(401);
      expect(await response.text()).toBe("log in first");
      expect(broker.stats().clients).toBe(0);
    });

    it("answers 405 with Allow: GET, 400 for hostile topics, and streams whatever Accept says", async () => {
      const broker = new EventBroker();
      const { url } = await serve(handlerFunc(broker, project, { keepaliveMs: 0 }));
      const post = await fetch(`${url}/projects/1/events`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET");
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

    it("answers 503 with Retry-After past maxClients and 429 past maxClientsPerAddress", async () => {
      const broker = new EventBroker();
      const full = await serve(handler(broker, "news", { keepaliveMs: 0, maxClients: 1 }));
      const first = rawClient(full.port, "/projects/1/events");
      cleanups.push(() => first.close());
      await first.ready;
      const refused = await fetch(`${full.url}/projects/1/events`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");

      const other = new EventBroker();
      const capped = await serve(
        handler(other, "news", { keepaliveMs: 0, maxClientsPerAddress: 1 }),
      );
      const mine = rawClient(capped.port, "/projects/1/events");
      cleanups.push(() => mine.close());
      await mine.ready;
      expect((await fetch(`${capped.url}/projects/1/events`)).status).toBe(429);
      expect(other.stats().clients).toBe(1);
    });
  });
}
