import { once } from "node:events";
import {
  Agent,
  get,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import {
  cleanupAfterEach,
  type EventSourceMessage,
  listen,
  type RawClient,
  type RecordingEventSource,
  rawClient,
  recordEvents,
  type TestServer,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import { serveEvents } from "../adapter.js";
import {
  type Client,
  EventBroker,
  encodeEvent,
  fetchHandler,
  handler,
  handlerFunc,
  type SSEEvent,
  SSEOptionError,
} from "../index.js";

const cleanups = cleanupAfterEach();

async function serve(listener: RequestListener): Promise<TestServer> {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return server;
}

function events(url: string, types: readonly string[], init = {}): RecordingEventSource {
  const client = recordEvents(url, types, init);
  cleanups.push(() => client.close());
  return client;
}

function raw(port: number, path = "/", options: Parameters<typeof rawClient>[2] = {}): RawClient {
  const client = rawClient(port, path, options);
  cleanups.push(() => client.close());
  return client;
}

/** A broker that is closed after the test (stops any stream still open). */
function broker(options?: ConstructorParameters<typeof EventBroker>[0]): EventBroker {
  const b = new EventBroker(options);
  cleanups.push(() => b.close());
  return b;
}

/** The response head as [lower-case name, value] pairs, in order, with the status line. */
function parseHead(head: string): { status: string; headers: [string, string][] } {
  const [status = "", ...lines] = head.split("\r\n");
  return {
    status,
    headers: lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  };
}

const roomOf = (req: IncomingMessage): string =>
  `room:${new URL(req.url ?? "/", "http://x").searchParams.get("room")}`;

const summary = (list: EventSourceMessage[]) => list.map((e) => `${e.event}=${e.data}`);

describe("response head", () => {
  it("is 200 with the stream headers, flushed before anything is published", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 0 }));
    const client = raw(port);
    await client.ready;

    expect(b.stats().published).toBe(0);
    expect(client.body).toBe("");
    const { status, headers } = parseHead(client.head);
    expect(status).toBe("HTTP/1.1 200 OK");
    const get = (name: string) => headers.filter(([n]) => n === name).map(([, v]) => v);
    expect(get("content-type")).toEqual(["text/event-stream"]);
    expect(get("cache-control")).toEqual(["no-cache, no-transform"]);
    expect(get("x-accel-buffering")).toEqual(["no"]);
    expect(get("connection")).toEqual(["keep-alive"]);
    // Node's own chunked framing, once; nothing hand-set on top of it.
    expect(get("transfer-encoding")).toEqual(["chunked"]);
    expect(get("content-length")).toEqual([]);
    await waitFor(() => b.stats().clients === 1, "the subscription");
  });

  it("satisfies a spec client: eventsource opens without an error", async () => {
    const b = broker();
    const { url } = await serve(handler(b, "news", { keepaliveMs: 0 }));
    const client = events(`${url}/`, ["news"]);
    await client.opened;
    expect(client.errors).toBe(0);
    expect(client.source.readyState).toBe(client.source.OPEN);
  });
});

describe("static topics", () => {
  it("streams several topics on one endpoint, each event typed by its topic (htmx sse-swap per topic)", async () => {
    const b = broker();
    const { url } = await serve(handler(b, ["notifications", "status"], { keepaliveMs: 0 }));
    const client = events(`${url}/`, ["notifications", "status", "other", "message"]);
    await client.opened;
    await waitFor(() => b.stats().clients === 1, "the subscription");

    expect(b.publish("other", { data: "never" })).toBe(0);
    expect(b.publish("notifications", { data: "<li>one</li>" })).toBe(1);
    expect(b.publish("status", { data: "ok" })).toBe(1);
    expect(b.publish("status", { type: "custom", data: "explicit type kept" })).toBe(1);
    expect(b.publish("other", { data: "never either" })).toBe(0);
    // The sentinel comes last on the one stream: anything else would have arrived before it.
    b.publish("notifications", { data: "end" });
    await client.waitForCount(3);
    await waitFor(() => client.events.at(-1)?.data === "end", "the sentinel");

    expect(summary(client.events)).toEqual([
      "notifications=<li>one</li>",
      "status=ok",
      "notifications=end",
    ]);
  });

  it("writes the exact wire bytes, keeping an explicit type", async () => {
    const b = broker();
    const { port } = await serve(handler(b, ["a", "b"], { keepaliveMs: 0 }));
    const client = raw(port);
    await client.ready;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    const sent: [string, SSEEvent][] = [
      ["a", { data: "one" }],
      ["c", { data: "not subscribed" }],
      ["b", { type: "custom", id: "7", data: "two\nlines" }],
    ];
    for (const [topic, event] of sent) b.publish(topic, event);
    const expected =
      encodeEvent({ type: "a", data: "one" }) +
      encodeEvent({ type: "custom", id: "7", data: "two\nlines" });
    await waitFor(() => client.body.length >= expected.length, "both events");
    expect(client.body).toBe(expected);
  });
});

describe("dynamic topics (handlerFunc)", () => {
  it.each([
    ["sync", (req: IncomingMessage) => roomOf(req)],
    [
      "async",
      async (req: IncomingMessage) => {
        await tick();
        return [roomOf(req)];
      },
    ],
  ])("%s topicsFn: room 42 is isolated from room 43", async (_kind, topicsFn) => {
    const b = broker();
    const { url } = await serve(handlerFunc(b, topicsFn, { keepaliveMs: 0 }));
    const types = ["room:42", "room:43"];
    const r42 = events(`${url}/?room=42`, types);
    const r43 = events(`${url}/?room=43`, types);
    await Promise.all([r42.opened, r43.opened]);
    await waitFor(() => b.stats().topics === 2, "both rooms");

    b.publish("room:42", { data: "a" });
    b.publish("room:43", { data: "b" });
    b.publish("room:42", { data: "end" });
    b.publish("room:43", { data: "end" });
    await r42.waitForCount(2);
    await r43.waitForCount(2);

    expect(summary(r42.events)).toEqual(["room:42=a", "room:42=end"]);
    expect(summary(r43.events)).toEqual(["room:43=b", "room:43=end"]);
  });

  it("a topicsFn that throws answers 500 without leaking the message, and subscribes nothing", async () => {
    const b = broker();
    const topicsFn = vi.fn((): string => {
      throw new Error("database password is hunter2");
    });
    const { url } = await serve(handlerFunc(b, topicsFn));
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("sse: internal error");
    expect(topicsFn).toHaveBeenCalledTimes(1);
    expect(b.stats().clients).toBe(0);
  });

  it("a topicsFn that rejects asynchronously answers 500 and subscribes nothing", async () => {
    const b = broker();
    const { url } = await serve(
      handlerFunc(b, async () => {
        await tick();
        throw new Error("boom");
      }),
    );
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(500);
    expect(b.stats().clients).toBe(0);
  });

  it("a topicsFn that throws { status: 403 } answers 403", async () => {
    const b = broker();
    const { url } = await serve(
      handlerFunc(b, () => {
        throw { status: 403 };
      }),
    );
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(403);
    expect(b.stats().clients).toBe(0);
  });

  it("an HTTP-style error keeps its status and (below 500) its message", async () => {
    const b = broker();
    const { url } = await serve(
      handlerFunc(b, async () => {
        throw Object.assign(new Error("not your project"), { statusCode: 403 });
      }),
    );
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(403);
    expect(await response.text()).toBe("not your project");
    expect(b.stats().clients).toBe(0);
  });

  it("an empty topic list answers 400 and subscribes nothing", async () => {
    const b = broker();
    const { url } = await serve(handlerFunc(b, () => []));
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^sse: topics: /);
    expect(b.stats().clients).toBe(0);
  });

  it("an error answer is seen as a failure by eventsource, which does not reconnect", async () => {
    const b = broker();
    const topicsFn = vi.fn((): string => {
      throw { status: 403 };
    });
    const { url } = await serve(handlerFunc(b, topicsFn));
    const client = events(`${url}/`, ["message"]);
    await waitFor(() => client.errors === 1, "the error event");
    expect(client.source.readyState).toBe(client.source.CLOSED);
    expect(topicsFn).toHaveBeenCalledTimes(1);
  });
});

describe("serveEvents", () => {
  it("answers 500 naming the fix when the broker is undefined, and logs it once by default", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    cleanups.push(() => log.mockRestore());
    const { url } = await serve((req, res) => {
      void serveEvents(req, res, undefined, "news");
    });
    const response = await fetch(`${url}/events?lastEventId=7`);
    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe(
      "sse: no broker on this request: put middleware(broker) before this route",
    );
    expect(log).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith(
      "sse: could not serve an event stream (GET /events):",
      expect.objectContaining({ name: "SSEMissingBrokerError" }),
    );
  });

  it("resolves once the stream has ended", async () => {
    const b = broker();
    const ended: Promise<void>[] = [];
    const { port } = await serve((req, res) => {
      ended.push(serveEvents(req, res, b, "news", { keepaliveMs: 0 }));
    });
    const client = raw(port);
    await client.ready;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    let resolved = false;
    void ended[0]!.then(() => {
      resolved = true;
    });
    await tick();
    expect(resolved).toBe(false);
    client.close();
    await ended[0];
    expect(b.stats().clients).toBe(0);
  });
});

describe("disconnect", () => {
  it("an eventsource client that closes is unsubscribed; publishing afterwards is safe", async () => {
    const b = broker();
    const { url } = await serve(handlerFunc(b, roomOf, { keepaliveMs: 0 }));
    const client = events(`${url}/?room=1`, ["room:1"]);
    await client.opened;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    expect(b.stats().topics).toBe(1);

    client.close();
    await waitFor(() => b.stats().clients === 0, "the unsubscribe");
    expect(b.stats().topics).toBe(0);
    expect(b.publish("room:1", { data: "nobody listens" })).toBe(0);
  });

  it("a raw socket destroyed mid-stream, after events were queued, is unsubscribed", async () => {
    const b = broker();
    const { port } = await serve(handler(b, ["a", "b"], { keepaliveMs: 30 }));
    const client = raw(port);
    await client.ready;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    b.publish("a", { data: "x" });
    await waitFor(() => client.events.length === 1, "the first event");
    b.publish("b", { data: "y" });
    client.close();
    await waitFor(() => b.stats().clients === 0, "the unsubscribe");
    expect(b.stats().topics).toBe(0);
    expect(b.publish("a", { data: "z" })).toBe(0);
    expect(b.publish("b", { data: "z" })).toBe(0);
  });
  /** Connects a client whose topicsFn waits on `gate`, then makes it leave while it waits. */
  async function leaveWhileTopicsPending(gate: Promise<void>) {
    const b = broker();
    const topicsFn = vi.fn(async () => {
      await gate;
      return "news";
    });
    const sse = handlerFunc(b, topicsFn, { keepaliveMs: 0 });
    let response: ServerResponse | undefined;
    const { port } = await serve((req, res) => {
      response = res;
      sse(req, res);
    });
    const client = raw(port);
    await waitFor(() => topicsFn.mock.calls.length === 1, "the topicsFn call");
    client.close();
    await waitFor(() => response?.destroyed === true, "the server to see the client leave");
    return { b, response: response! };
  }

  it("a client that leaves while an async topicsFn is pending is never subscribed", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { b } = await leaveWhileTopicsPending(gate);
    release();
    await gate;
    await tick();
    expect(b.stats().clients).toBe(0);
    expect(b.stats().topics).toBe(0);
  });

  it("a client that leaves while a topicsFn is pending, which then throws, gets nothing written", async () => {
    let fail!: () => void;
    const gate = new Promise<void>((_resolve, reject) => {
      fail = () => reject(Object.assign(new Error("late"), { status: 403 }));
    });
    const { b, response } = await leaveWhileTopicsPending(gate);
    fail();
    await gate.catch(() => {});
    await tick();
    expect(response.headersSent).toBe(false);
    expect(b.stats().clients).toBe(0);
  });
});

describe("keepalive", () => {
  it("sends the ':keepalive' comment every keepaliveMs", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 30 }));
    const client = raw(port);
    await client.ready;
    await waitFor(() => client.comments.length >= 2, "two keepalive comments");
    expect(client.comments.every((c) => c === "keepalive")).toBe(true);
    expect(client.body.startsWith(":keepalive\n\n:keepalive\n\n")).toBe(true);
    expect(client.events).toEqual([]);
  });

  it("keeps each stream's keepalive going while others on the same interval come and go", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 30 }));
    const first = raw(port);
    await first.ready;
    await waitFor(() => first.comments.length >= 1, "a keepalive on the first stream");
    first.close();
    await waitFor(() => b.stats().clients === 0, "the first stream to leave");
    const second = raw(port);
    await second.ready;
    await waitFor(() => second.comments.length >= 1, "a keepalive on the second stream");
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    "rejects keepaliveMs %s with an SSEOptionError when the handler is created",
    (keepaliveMs) => {
      const b = broker();
      expect(() => handler(b, "news", { keepaliveMs })).toThrow(SSEOptionError);
      expect(() => handlerFunc(b, () => "news", { keepaliveMs })).toThrow(/keepaliveMs/);
    },
  );
});

describe("graceful shutdown", () => {
  it("broker.close() then server.close() completes with 40 eventsource clients connected", async () => {
    const b = broker();
    const server = await serve(handler(b, "news", { keepaliveMs: 0 }));
    const clients = Array.from({ length: 40 }, () => events(`${server.url}/`, ["news"]));
    await Promise.all(clients.map((c) => c.opened));
    await waitFor(() => b.stats().clients === 40, "40 subscriptions");
    const errorsBefore = clients.map((c) => c.errors);

    // Queued, then the broker closes in the same tick: every stream flushes it, then ends.
    expect(b.publish("news", { data: "bye" })).toBe(40);
    b.close();
    const closed = vi.fn();
    await new Promise<void>((resolve) =>
      server.server.close(() => {
        closed();
        resolve();
      }),
    );

    expect(closed).toHaveBeenCalledTimes(1);
    expect(b.stats().clients).toBe(0);
    for (const [i, client] of clients.entries()) {
      // eventsource reports a stream that ended as an error (before it tries to reconnect).
      await waitFor(() => client.errors > errorsBefore[i]!, `client ${i}'s stream to end`);
      expect(summary(client.events)).toEqual(["news=bye"]);
    }
  });

  it("flushes events queued before close, then ends the chunked body", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 0, reconnectWindowMs: 0 }));
    const client = raw(port);
    await client.ready;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    for (let i = 0; i < 5; i++) b.publish("news", { data: `last ${i}` });
    b.close();
    // The body's last chunk, not the socket's close: the connection itself may stay alive.
    await waitFor(() => client.finished, "the end of the body");
    expect(client.events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((i) => `last ${i}`));
    expect(client.body).toBe(
      [0, 1, 2, 3, 4].map((i) => encodeEvent({ type: "news", data: `last ${i}` })).join(""),
    );
  });

  it("sends a retry below reconnectWindowMs before ending, so reconnects spread out", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 0, reconnectWindowMs: 1000 }));
    const client = raw(port);
    await client.ready;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    b.close();
    await waitFor(() => client.finished, "the end of the body");
    const match = /^retry: (\d+)\n\n$/.exec(client.body);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeLessThan(1000);
  });

  it("a client arriving after close gets an ended stream on a closed connection, not a hang", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 0 }));
    b.close();
    const client = raw(port);
    await client.ready;
    expect(parseHead(client.head).headers).toContainEqual(["connection", "close"]);
    await client.ended;
    expect(client.finished).toBe(true);
    expect(b.stats().clients).toBe(0);
  });

  it("an htmx request arriving after close gets 503 with Retry-After on a closed connection (htmx 4 backs off on errors, not after a 200)", async () => {
    const b = broker();
    const { port } = await serve(handler(b, "news", { keepaliveMs: 0 }));
    b.close();
    const client = raw(port, "/", { headers: { "HX-Request": "true" } });
    await client.ended;
    const head = parseHead(client.head);
    expect(head.status).toMatch(/^HTTP\/1\.1 503 /);
    expect(head.headers).toContainEqual(["connection", "close"]);
    expect(head.headers).toContainEqual(["retry-after", "5"]);
    expect(b.stats().clients).toBe(0);
  });

  it("fetchHandler answers an htmx request 503 after close too", async () => {
    const b = broker();
    const events = fetchHandler(b, "news");
    b.close();
    const response = await events(new Request("http://x/", { headers: { "HX-Request": "true" } }));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.text()).toBe("sse: shutting down");
  });

  it("closes each keep-alive connection after its last bytes, so no agent reuses it and server.close() completes", async () => {
    const b = broker();
    const server = await serve(handler(b, "news", { keepaliveMs: 0, reconnectWindowMs: 0 }));
    // Without this, Node's own 5 s idle timeout would close the sockets anyway.
    server.server.keepAliveTimeout = 120_000;
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const responses = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise<IncomingMessage>((resolve, reject) =>
            get(server.url, { agent }, resolve).once("error", reject),
          ),
      ),
    );
    const sockets = responses.map((res) => res.socket);
    const socketsClosed = sockets.map((socket) => once(socket, "close"));
    for (const res of responses) res.resume();
    await waitFor(() => b.stats().clients === 3, "3 subscriptions");
    expect(responses[0]!.headers.connection).toBe("keep-alive");

    b.close();
    await Promise.all(socketsClosed);
    expect(responses.every((res) => res.complete)).toBe(true);
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
  });
});

describe("Last-Event-ID", () => {
  function spySubscribe(b: EventBroker) {
    const subscribed: Client[] = [];
    const spy = vi.spyOn(b, "subscribe");
    spy.mockImplementation(function (this: EventBroker, ...args) {
      const client = EventBroker.prototype.subscribe.apply(this, args);
      subscribed.push(client);
      return client;
    });
    return { spy, subscribed };
  }

  it.each([
    ["the Last-Event-ID header", "/", { "Last-Event-ID": "41" }, "41"],
    ["the lastEventId query parameter", "/?lastEventId=7", {}, "7"],
    ["the header, over the query parameter", "/?lastEventId=7", { "Last-Event-ID": "9" }, "9"],
    ["neither", "/", {}, undefined],
  ])("passes %s to broker.subscribe", async (_name, path, headers, expected) => {
    const b = broker();
    const { spy } = spySubscribe(b);
    const { port } = await serve(handler(b, "news", { keepaliveMs: 0 }));
    const client = raw(port, path, { headers });
    await client.ready;
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]![0]).toEqual(["news"]);
    expect(spy.mock.calls[0]![1]?.lastEventId).toBe(expected);
  });

  it("an eventsource client that reconnects sends the id it last saw", async () => {
    const b = broker();
    const { spy } = spySubscribe(b);
    const server = await serve(handler(b, "news", { keepaliveMs: 0 }));
    const client = events(`${server.url}/`, ["news"]);
    await client.opened;
    await waitFor(() => b.stats().clients === 1, "the subscription");
    // A short retry so the reconnect comes soon; the test waits for it, not for time.
    b.publish("news", { id: "e-1", retry: 10, data: "first" });
    await client.waitForCount(1);
    server.server.closeAllConnections();
    await waitFor(() => spy.mock.calls.length === 2, "the reconnect");
    expect(spy.mock.calls[0]![1]?.lastEventId).toBeUndefined();
    expect(spy.mock.calls[1]![1]?.lastEventId).toBe("e-1");
  });
});

describe("bursts", () => {
  it("200 small events published in one tick reach a fast client in order, joined into few writes", async () => {
    const b = broker();
    const sse = handler(b, "ticks", { keepaliveMs: 0 });
    const writes: unknown[] = [];
    const { port, url } = await serve((req, res: ServerResponse) => {
      if (req.url === "/counted") {
        const write = res.write.bind(res) as (chunk: unknown) => boolean;
        res.write = ((chunk: unknown) => {
          writes.push(chunk);
          return write(chunk);
        }) as typeof res.write;
      }
      sse(req, res);
    });
    const rawFast = raw(port, "/counted");
    const esFast = events(`${url}/`, ["ticks"]);
    await Promise.all([rawFast.ready, esFast.opened]);
    await waitFor(() => b.stats().clients === 2, "both subscriptions");

    const count = 200;
    for (let i = 0; i < count; i++) expect(b.publish("ticks", { data: `tick ${i}` })).toBe(2);
    const expected = Array.from({ length: count }, (_, i) => `tick ${i}`);
    const wire = expected.map((data) => encodeEvent({ type: "ticks", data })).join("");

    await waitFor(() => rawFast.body.length >= wire.length, "every byte on the raw client");
    await esFast.waitForCount(count);
    expect(rawFast.body).toBe(wire);
    expect(esFast.events.map((e) => e.data)).toEqual(expected);
    expect(b.stats().dropped).toBe(0);
    expect(b.stats().delivered).toBe(2 * count);
    // Joined: the queued events went out in far fewer writes than events.
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.length).toBeLessThan(count / 10);
  });
});
