/**
 * The shared adapter suite's cases for errors (see {@link describeAdapter}):
 * what a topic function, an `authorize`, a missing middleware or a producer
 * throws reaches the framework's error handling once, or the user's
 * `onError`; wrong arguments throw at creation.
 */
import { expect, it, vi } from "vitest";
import { APP_ERROR_PAGE, type SuiteBroker } from "./adapter-harness.js";
import type { AdapterSuiteContext } from "./adapter-suite-context.js";
import { thrownBy, waitFor } from "./waits.js";

/** Registers, in the calling `describe`, the error cases. */
export function adapterErrorCases<B extends SuiteBroker, Req, H>({
  harness,
  served,
  projectTopic,
}: AdapterSuiteContext<B, Req, H>): void {
  const { api, newBroker } = harness;
  const { serve, watch, takeErrors, restoreAfter } = served;

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
      await waitFor(() => served.running!.errors.length > 0, "the error to reach error handling");
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
      await waitFor(() => served.running!.errors.length === 1, "the error to reach error handling");
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
    await waitFor(() => served.running!.errors.length === 1, "the error to reach error handling");
    expect(takeErrors()[0]).toMatchObject({
      name: "SSEMissingBrokerError",
      message: `sse: no broker on this request: ${harness.noBrokerFix}`,
    });
  });

  it("streamHandler: a producer that throws after its 200 ends the stream and is reported once, where nothing can write", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    restoreAfter(() => logged.mockRestore());
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
      await waitFor(() => served.running!.errors.length === 1, "the error to reach error handling");
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
}
