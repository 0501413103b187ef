import type { IncomingMessage, ServerResponse } from "node:http";
import { listen, rawClient, type TestServer, waitFor } from "@burrow/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { validateOptions, validateTopics } from "../adapter.js";
import {
  brokerMiddleware,
  contextHandler,
  contextHandlerFunc,
  EventBroker,
  type OnError,
  SSEError,
  SSEMissingBrokerError,
} from "../index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A node:http server that runs `middleware` (if any) before `events`. */
async function serveWith(
  events: (req: IncomingMessage, res: ServerResponse) => void,
  broker?: EventBroker,
): Promise<TestServer> {
  const middleware = broker === undefined ? undefined : brokerMiddleware(broker);
  server = await listen((req, res) => {
    if (middleware === undefined) events(req, res);
    else middleware(req, res, () => events(req, res));
  });
  return server;
}

describe("contextHandler and contextHandlerFunc", () => {
  it("stream from the broker the middleware put on the request", async () => {
    const broker = new EventBroker();
    const { port } = await serveWith(contextHandler("news", { keepaliveMs: 0 }), broker);
    const client = rawClient(port, "/");
    await client.ready;
    broker.publish("news", { data: "hi" });
    await waitFor(() => client.events.length === 1, "the event");
    expect(client.events[0]).toMatchObject({ event: "news", data: "hi" });
    client.close();
  });

  it("resolve per-request topics, sync or async", async () => {
    const broker = new EventBroker();
    const { port } = await serveWith(
      contextHandlerFunc(async (req) => `room:${req.url?.slice(1)}`, { keepaliveMs: 0 }),
      broker,
    );
    const a = rawClient(port, "/42");
    const b = rawClient(port, "/43");
    await Promise.all([a.ready, b.ready]);
    await waitFor(() => broker.stats().topics === 2, "two rooms");
    broker.publish("room:42", { data: "for 42" });
    broker.publish("room:43", { data: "for 43" });
    await waitFor(() => a.events.length === 1 && b.events.length === 1, "one event each");
    expect([a.events[0]?.data, b.events[0]?.data]).toEqual(["for 42", "for 43"]);
    a.close();
    b.close();
  });

  it.each([
    ["contextHandler", (onError: OnError<IncomingMessage>) => contextHandler("news", { onError })],
    [
      "contextHandlerFunc",
      (onError: OnError<IncomingMessage>) => contextHandlerFunc(() => "news", { onError }),
    ],
  ])(
    "%s without the middleware answers 500 naming the fix, and reports it to onError",
    async (_name, make) => {
      const reported: [unknown, IncomingMessage][] = [];
      const { url } = await serveWith(make((error, req) => reported.push([error, req])));
      const response = await fetch(`${url}/events?token=secret`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe(
        "sse: no broker on this request: put middleware(broker) before this route",
      );
      expect(reported).toHaveLength(1);
      const [error, req] = reported[0]!;
      expect(SSEMissingBrokerError.isInstance(error)).toBe(true);
      expect(SSEError.isInstance(error) && error.status).toBe(500);
      expect(req.url).toBe("/events?token=secret");
    },
  );
});

describe("validateOptions and validateTopics", () => {
  it("accept good input and normalize topics", () => {
    expect(() => validateOptions({ keepaliveMs: 10, maxTopics: 2 })).not.toThrow();
    expect(validateTopics(["a", "b", "a"])).toEqual(["a", "b"]);
    expect(validateTopics("a")).toEqual(["a"]);
  });

  it("throw naming the problem", () => {
    expect(() => validateOptions({ keepaliveMs: -1 })).toThrow(/keepaliveMs/);
    expect(() => validateOptions({ maxClients: 1.5 })).toThrow(/maxClients/);
    expect(() => validateOptions({ topicPattern: "x" as unknown as RegExp })).toThrow(
      /topicPattern/,
    );
    expect(() => validateTopics([])).toThrow(/topics/);
    expect(() => validateTopics(["a", "b", "c"], { maxTopics: 2 })).toThrow(/too many topics/);
    expect(() => validateTopics("x".repeat(200))).toThrow(/too long/);
  });
});
