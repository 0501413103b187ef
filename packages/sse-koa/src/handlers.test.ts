import { setTimeout as sleep } from "node:timers/promises";
import { EventBroker } from "@burrow/sse-core";
import { blockStream, listen, rawClient, type TestServer, waitFor } from "@burrow/test-utils";
import Router from "@koa/router";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { handler, handlerFunc, streamHandler } from "./index.js";

// What only koa needs: the shared adapter behaviour is in adapter.test.ts.
let server: TestServer | undefined;
let appErrors: unknown[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  expect(appErrors).toEqual([]);
  appErrors = [];
});

/** An app whose outermost middleware records the status it sees after the route. */
async function serve(router: Router, statuses: number[] = []): Promise<TestServer> {
  const app = new Koa();
  app.on("error", (err: unknown) => appErrors.push(err));
  app.use(async (ctx, next) => {
    await next();
    statuses.push(ctx.status);
  });
  app.use(router.routes());
  server = await listen(app.callback());
  return server;
}

describe("koa handlers", () => {
  it("send nothing of koa's own after the stream: no 404 body once it ends", async () => {
    const broker = new EventBroker();
    const statuses: number[] = [];
    const { port } = await serve(new Router().get("/events", handler(broker, "news")), statuses);
    const client = rawClient(port, "/events");
    await client.ready;
    broker.publish("news", { data: "last words" });
    await waitFor(() => client.events.length === 1, "the event");
    broker.close();
    await waitFor(() => client.finished, "the stream to end");
    expect(client.head).toMatch(/^HTTP\/1\.1 200 /);
    expect(client.body).not.toMatch(/Not Found/);
    expect(client.events.map((e) => e.data)).toEqual(["last words"]);
    // Upstream middleware resumes once the stream has ended, seeing its status.
    await waitFor(() => statuses.length === 1, "the upstream middleware to resume");
    expect(statuses).toEqual([200]);
    client.close();
  });

  it("answer ctx.throw(403) from a topic function with 403", async () => {
    const broker = new EventBroker();
    const router = new Router().get(
      "/projects/:id/events",
      handlerFunc(broker, (ctx) => ctx.throw(403, `not a member of project ${ctx.params.id}`)),
    );
    const { url } = await serve(router);
    const response = await fetch(`${url}/projects/42/events`);
    expect([response.status, await response.text()]).toEqual([403, "not a member of project 42"]);
    expect(broker.stats().clients).toBe(0);
  });

  it("do not report a client that resets its stream's connection as an app error", async () => {
    // Koa hands a socket error of any response to ctx.onerror, which emits the
    // app's "error" (and, with no listener, logs its stack): a client leaving
    // an event stream by a reset is no error of the app's.
    const broker = new EventBroker({ bufferSize: 1 });
    let reportEnded = false;
    const { port } = await serve(
      new Router().get("/events", handler(broker, "news")).get(
        "/report",
        streamHandler(async (stream) => {
          while (await stream.send({ data: "x".repeat(1000) }));
          reportEnded = true;
        }),
      ),
    );
    for (const path of ["/events", "/report"]) {
      const client = rawClient(port, path);
      await client.ready;
      client.socket.pause();
      if (path === "/events") await blockStream(broker, "news");
      // Unread bytes in the client's buffers: closing it sends a reset.
      await waitFor(() => client.socket.readableLength > 0, "unread bytes");
      client.socket.resetAndDestroy();
      await waitFor(
        () => (path === "/events" ? broker.stats().clients === 0 : reportEnded),
        "the stream to end",
      );
    }
    // Let koa's on-finished listener run for both, then afterEach checks appErrors is empty.
    await sleep(100);
  });
});
