import { listen, parseSSE, rawClient, type TestServer, waitFor } from "@burrow/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_LIMITS,
  EventBroker,
  fetchHandler,
  type HandlerOptions,
  handler,
  handlerFunc,
  type SSERequest,
} from "../index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const topicFromQuery = (req: SSERequest) =>
  new URL(req.url ?? "/", "http://x").searchParams.getAll("topic");

async function serve(broker: EventBroker, options: HandlerOptions = {}): Promise<TestServer> {
  server = await listen(handlerFunc(broker, topicFromQuery, { keepaliveMs: 0, ...options }));
  return server;
}

describe("request checks", () => {
  it("answers 405 with Allow: GET to other methods, subscribing nothing", async () => {
    const broker = new EventBroker();
    const { url } = await serve(broker);
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await fetch(`${url}/?topic=a`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET");
    }
    expect(broker.stats().clients).toBe(0);
  });

  it.each([
    [
      "too many topics",
      `?${Array.from({ length: 33 }, (_, i) => `topic=t${i}`).join("&")}`,
      /too many topics: 33/,
    ],
    ["a 2 KB topic", `?topic=${"x".repeat(2000)}`, /topic too long: 2000/],
    ["control characters", `?topic=${encodeURIComponent("a\u0000b")}`, /not allowed/],
    ["white space", `?topic=${encodeURIComponent("a b")}`, /not allowed/],
    ["a bidi override", `?topic=${encodeURIComponent("a\u202eb")}`, /not allowed/],
    [
      "an oversized Last-Event-ID",
      `?topic=a&lastEventId=${"9".repeat(300)}`,
      /Last-Event-ID too long/,
    ],
  ])(
    "answers 400 naming the problem for %s, and keeps serving others",
    async (_name, query, message) => {
      const broker = new EventBroker();
      const { url, port } = await serve(broker);
      const response = await fetch(`${url}/${query}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(message);
      expect(broker.stats().clients).toBe(0);
      const fine = rawClient(port, "/?topic=ok");
      await fine.ready;
      expect(fine.head).toMatch(/^HTTP\/1.1 200/);
      fine.close();
    },
  );

  it("leaves a 100 KB URL to Node's own header limit (431), and keeps serving others", async () => {
    const broker = new EventBroker();
    const { url, port } = await serve(broker);
    const response = await fetch(`${url}/?topic=${"x".repeat(100_000)}`);
    expect(response.status).toBe(431);
    const fine = rawClient(port, "/?topic=ok");
    await fine.ready;
    expect(fine.head).toMatch(/^HTTP\/1.1 200/);
    expect(broker.stats().clients).toBe(1);
    fine.close();
  });

  it("accepts unicode and path-like topics by default (topics are names, not paths)", async () => {
    const broker = new EventBroker();
    const { port } = await serve(broker);
    const client = rawClient(port, `/?topic=${encodeURIComponent("räume/../küche:42")}`);
    await client.ready;
    broker.publish("räume/../küche:42", { data: "hi" });
    await waitFor(() => client.events.length === 1, "the event");
    client.close();
  });

  it("rejects static topics past the limits, and bad options, when the handler is created", () => {
    const broker = new EventBroker();
    expect(() => handler(broker, "a b")).toThrow(/not allowed/);
    expect(() => handler(broker, "a", { maxTopics: -1 })).toThrow(/maxTopics/);
    expect(() => handler(broker, "a", { keepaliveMs: -5 })).toThrow(/keepaliveMs/);
    expect(() => handler(broker, "a", { reconnectWindowMs: Number.NaN })).toThrow(
      /reconnectWindowMs/,
    );
    expect(DEFAULT_LIMITS.maxClients).toBe(10_000);
  });

  it("answers 503 with Retry-After past maxClients, and admits again when one leaves", async () => {
    const broker = new EventBroker();
    const { url, port } = await serve(broker, { maxClients: 2 });
    const first = rawClient(port, "/?topic=a");
    const second = rawClient(port, "/?topic=a");
    await Promise.all([first.ready, second.ready]);
    const refused = await fetch(`${url}/?topic=a`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    first.close();
    await waitFor(() => broker.stats().clients === 1, "the first client to leave");
    const third = rawClient(port, "/?topic=a");
    await third.ready;
    expect(third.head).toMatch(/^HTTP\/1.1 200/);
    second.close();
    third.close();
  });

  it("caps streams per client address when asked (429), releasing the slot when one ends", async () => {
    const broker = new EventBroker();
    const { url, port } = await serve(broker, { maxClientsPerAddress: 1 });
    const first = rawClient(port, "/?topic=a");
    await first.ready;
    expect((await fetch(`${url}/?topic=a`)).status).toBe(429);
    first.close();
    await waitFor(() => broker.stats().clients === 0, "the slot to be released");
    const again = rawClient(port, "/?topic=a");
    await again.ready;
    expect(again.head).toMatch(/^HTTP\/1.1 200/);
    again.close();
  });
});

describe("authorize", () => {
  it("receives the request and the topics; false answers 403 before any subscription", async () => {
    const broker = new EventBroker();
    const seen: string[][] = [];
    const { url, port } = await serve(broker, {
      authorize: (req, topics) => {
        seen.push([...topics]);
        return req.headers["x-user"] === "ann" || !topics.includes("project:42");
      },
    });
    const denied = await fetch(`${url}/?topic=project:42`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("sse: forbidden");
    expect(broker.stats().clients).toBe(0);
    const allowed = rawClient(port, "/?topic=project:42", { headers: { "X-User": "ann" } });
    await allowed.ready;
    expect(allowed.head).toMatch(/^HTTP\/1.1 200/);
    expect(seen).toEqual([["project:42"], ["project:42"]]);
    allowed.close();
  });

  it("answers an async authorize's thrown HTTP error with its status", async () => {
    const broker = new EventBroker();
    const { url } = await serve(broker, {
      authorize: async () => {
        throw Object.assign(new Error("log in first"), { status: 401 });
      },
    });
    const response = await fetch(`${url}/?topic=a`);
    expect(response.status).toBe(401);
    expect(await response.text()).toBe("log in first");
  });

  it("applies to fetchHandler too, with the Request as subject", async () => {
    const broker = new EventBroker();
    const events = fetchHandler(broker, "a", {
      keepaliveMs: 0,
      authorize: (request) => request.headers.get("x-user") === "ann",
    });
    expect((await events(new Request("http://x/"))).status).toBe(403);
    expect((await events(new Request("http://x/", { method: "POST" }))).status).toBe(405);
    const controller = new AbortController();
    const ok = await events(
      new Request("http://x/", { headers: { "X-User": "ann" }, signal: controller.signal }),
    );
    expect(ok.status).toBe(200);
    controller.abort();
    await waitFor(() => broker.stats().clients === 0, "the aborted stream to end");
  });
});

describe("shutdown", () => {
  it("sends each stream a random retry within the window before it ends, so reconnects spread", async () => {
    const broker = new EventBroker();
    server = await listen(handler(broker, "a", { keepaliveMs: 0, reconnectWindowMs: 10_000 }));
    const clients = Array.from({ length: 20 }, () => rawClient(server!.port, "/"));
    await Promise.all(clients.map((c) => c.ready));
    broker.close();
    await waitFor(() => clients.every((c) => c.finished), "every stream to end");
    const retries = clients.map((c) => Number(/^retry: (\d+)$/m.exec(c.body)?.[1]));
    for (const retry of retries) {
      expect(retry).toBeGreaterThanOrEqual(0);
      expect(retry).toBeLessThan(10_000);
    }
    expect(new Set(retries).size).toBeGreaterThan(1);
    // A retry-only block dispatches no event.
    expect(parseSSE(clients[0]!.body).events).toEqual([]);
  });

  it("sends no retry with reconnectWindowMs 0", async () => {
    const broker = new EventBroker();
    server = await listen(handler(broker, "a", { keepaliveMs: 0, reconnectWindowMs: 0 }));
    const client = rawClient(server.port, "/");
    await client.ready;
    broker.close();
    await waitFor(() => client.finished, "the stream to end");
    expect(client.body).toBe("");
  });
});

describe("slow-client policies", () => {
  async function fill(policy: "drop-newest" | "drop-oldest" | "disconnect") {
    const broker = new EventBroker({ bufferSize: 2, slowClient: policy });
    const client = broker.subscribe("a");
    for (let i = 1; i <= 5; i++) broker.publish("a", { data: String(i) });
    return { broker, client };
  }

  it("drop-newest keeps the oldest events (the Go original's rule)", async () => {
    const { broker, client } = await fill("drop-newest");
    broker.close();
    const got: string[] = [];
    for await (const event of client) got.push(event.data!);
    expect(got).toEqual(["1", "2"]);
    expect(broker.stats().dropped).toBe(3);
  });

  it("drop-oldest keeps the newest events", async () => {
    const { broker, client } = await fill("drop-oldest");
    broker.close();
    const got: string[] = [];
    for await (const event of client) got.push(event.data!);
    expect(got).toEqual(["4", "5"]);
    expect(client.dropped).toBe(3);
    expect(broker.stats()).toMatchObject({ dropped: 3, delivered: 5 });
  });

  it("disconnect ends the client and counts it", async () => {
    const { broker, client } = await fill("disconnect");
    await client.done;
    expect(client.closed).toBe(true);
    expect(broker.stats()).toMatchObject({ clients: 0, slowDisconnects: 1 });
  });

  it("rejects an unknown policy", () => {
    // @ts-expect-error: not a policy
    expect(() => new EventBroker({ slowClient: "wait" })).toThrow(/slowClient/);
  });

  it("disconnect over HTTP: a stuck client is ended while a fast one keeps everything", async () => {
    const broker = new EventBroker({ bufferSize: 4, slowClient: "disconnect" });
    server = await listen(handler(broker, "a", { keepaliveMs: 0 }));
    const stuck = rawClient(server.port, "/", { read: false });
    const fast = rawClient(server.port, "/");
    await Promise.all([stuck.ready, fast.ready]);
    const payload = "x".repeat(1024);
    let sent = 0;
    while (broker.stats().slowDisconnects === 0 && sent < 20_000) {
      for (let i = 0; i < 10; i++) broker.publish("a", { data: `${sent++} ${payload}` });
      const target = sent;
      await waitFor(() => fast.events.length >= target, "the fast client to keep up");
    }
    expect(broker.stats().slowDisconnects).toBe(1);
    await waitFor(() => broker.stats().clients === 1, "the stuck client to be gone");
    expect(fast.events.map((e) => Number(e.data.split(" ")[0]))).toEqual(
      Array.from({ length: sent }, (_, i) => i),
    );
    fast.close();
    stuck.close();
  });
});
