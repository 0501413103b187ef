/**
 * The shared adapter suite's cases for what each of an adapter's exports
 * serves (see {@link describeAdapter}): the middleware and `brokerFrom`,
 * `streamHandler`, and the topic handlers, on a real server with the
 * `eventsource` client.
 */
import { expect, it } from "vitest";
import type { SuiteBroker } from "./adapter-harness.js";
import type { AdapterSuiteContext } from "./adapter-suite-context.js";
import { waitFor } from "./waits.js";

/** Registers, in the calling `describe`, the cases of the adapter's exports. */
export function adapterHandlerCases<B extends SuiteBroker, Req, H>({
  harness,
  served,
  projectTopic,
}: AdapterSuiteContext<B, Req, H>): void {
  const { api, newBroker } = harness;
  const { serve, watch } = served;

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
    await waitFor(() => served.running!.errors.length === 1, "the missing broker to be reported");
    expect(served.running!.errors.splice(0)[0]).toMatchObject({ name: "SSEMissingBrokerError" });
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
}
