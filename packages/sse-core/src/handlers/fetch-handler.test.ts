import { setImmediate as tick } from "node:timers/promises";
import {
  cleanupAfterEach,
  fromFetch,
  listen,
  parseSSE,
  recordSubscriptions,
  type TestServer,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import { EventBroker, encodeEvent, fetchHandler, SSEOptionError } from "../index.js";

const cleanups = cleanupAfterEach();

function broker(options?: ConstructorParameters<typeof EventBroker>[0]): EventBroker {
  const b = new EventBroker(options);
  cleanups.push(() => b.close());
  return b;
}

async function serve(fetchListener: (request: Request) => Promise<Response>): Promise<TestServer> {
  const server = await listen(fromFetch(fetchListener));
  cleanups.push(() => server.close());
  return server;
}

/** Reads a body in the background, decoding what arrives. */
interface Reading {
  text: string;
  done: boolean;
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

function read(body: ReadableStream<Uint8Array> | null): Reading {
  if (body === null) throw new Error("no body");
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const reading: Reading = { text: "", done: false, reader };
  cleanups.push(() => reader.cancel().catch(() => {}));
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        reading.text += decoder.decode(value, { stream: true });
      }
    } catch {
      // cancelled or errored: the test looks at `done` and the broker, not at this
    }
    reading.done = true;
  })();
  return reading;
}

const eventsOf = (reading: Reading) => parseSSE(reading.text).events;

describe("fetchHandler over HTTP, with Node's fetch as the client", () => {
  it("streams with the stream headers, and a client that aborts is unsubscribed", async () => {
    const b = broker();
    const { url } = await serve(fetchHandler(b, ["a", "b"], { keepaliveMs: 0 }));
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const response = await fetch(`${url}/events`, { signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    await waitFor(() => b.stats().clients === 1, "the subscription");

    const reading = read(response.body);
    b.publish("a", { data: "one" });
    b.publish("c", { data: "not subscribed" });
    b.publish("b", { data: "two" });
    await waitFor(() => eventsOf(reading).length === 2, "two events");
    expect(eventsOf(reading).map((e) => `${e.event}=${e.data}`)).toEqual(["a=one", "b=two"]);

    abort.abort();
    await waitFor(() => b.stats().clients === 0, "the unsubscribe");
    expect(b.stats().topics).toBe(0);
  });

  it("serves a topicsFn's topics, and its error status", async () => {
    const b = broker();
    const { url } = await serve(
      fetchHandler(
        b,
        (request) => {
          const room = new URL(request.url).searchParams.get("room");
          if (room === "secret") throw { status: 403 };
          return `room:${room}`;
        },
        { keepaliveMs: 0 },
      ),
    );
    const denied = await fetch(`${url}/?room=secret`);
    expect(denied.status).toBe(403);
    await denied.body?.cancel();
    expect(b.stats().clients).toBe(0);

    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const response = await fetch(`${url}/?room=42`, { signal: abort.signal });
    const reading = read(response.body);
    await waitFor(() => b.stats().clients === 1, "the subscription");
    b.publish("room:43", { data: "other room" });
    b.publish("room:42", { data: "mine" });
    await waitFor(() => eventsOf(reading).length === 1, "the event");
    expect(reading.text).toBe(encodeEvent({ type: "room:42", data: "mine" }));
  });
});

describe("fetchHandler called directly", () => {
  it("answers 200 with the stream headers and no connection header", async () => {
    const b = broker();
    const response = await fetchHandler(b, "news")(new Request("http://x/events"));
    cleanups.push(() => response.body?.cancel());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    expect(response.headers.get("connection")).toBeNull();
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(b.stats().clients).toBe(1);
  });

  it("streams several static topics, typed by topic; other topics never arrive", async () => {
    const b = broker();
    const response = await fetchHandler(b, ["notifications", "status"], { keepaliveMs: 0 })(
      new Request("http://x/"),
    );
    const reading = read(response.body);
    b.publish("other", { data: "never" });
    b.publish("notifications", { data: "<li>one</li>" });
    b.publish("status", { data: "ok" });
    b.publish("other", { data: "never either" });
    b.publish("notifications", { data: "end" });
    await waitFor(() => eventsOf(reading).at(-1)?.data === "end", "the sentinel");
    expect(eventsOf(reading).map((e) => `${e.event}=${e.data}`)).toEqual([
      "notifications=<li>one</li>",
      "status=ok",
      "notifications=end",
    ]);
  });

  it("resolves an async topicsFn per request: room 42 is isolated from room 43", async () => {
    const b = broker();
    const events = fetchHandler(
      b,
      async (request) => {
        await tick();
        return `room:${new URL(request.url).searchParams.get("room")}`;
      },
      { keepaliveMs: 0 },
    );
    const r42 = read((await events(new Request("http://x/?room=42"))).body);
    const r43 = read((await events(new Request("http://x/?room=43"))).body);
    b.publish("room:42", { data: "a" });
    b.publish("room:43", { data: "b" });
    b.publish("room:42", { data: "end" });
    b.publish("room:43", { data: "end" });
    await waitFor(() => eventsOf(r42).length >= 2 && eventsOf(r43).length >= 2, "both rooms");
    expect(eventsOf(r42).map((e) => `${e.event}=${e.data}`)).toEqual(["room:42=a", "room:42=end"]);
    expect(eventsOf(r43).map((e) => `${e.event}=${e.data}`)).toEqual(["room:43=b", "room:43=end"]);
  });

  it.each([
    ["{ status: 403 }", { status: 403 }, 403, "sse: error 403"],
    [
      "an Error with statusCode 403",
      Object.assign(new Error("no"), { statusCode: 403 }),
      403,
      "no",
    ],
    ["a plain Error", new Error("secret detail"), 500, "sse: internal error"],
  ])(
    "a topicsFn that throws %s answers %i and subscribes nothing",
    async (_name, thrown, status, body) => {
      const b = broker();
      const sync = fetchHandler(b, () => {
        throw thrown;
      });
      const async = fetchHandler(b, async () => {
        await tick();
        throw thrown;
      });
      for (const events of [sync, async]) {
        const response = await events(new Request("http://x/"));
        expect(response.status).toBe(status);
        expect(await response.text()).toBe(body);
      }
      expect(b.stats().clients).toBe(0);
    },
  );

  it("an empty topic list from topicsFn answers 400", async () => {
    const b = broker();
    const response = await fetchHandler(b, () => [])(new Request("http://x/"));
    expect(response.status).toBe(400);
    expect(b.stats().clients).toBe(0);
  });

  it("rejects a negative keepaliveMs with an SSEOptionError when created", () => {
    const b = broker();
    expect(() => fetchHandler(b, "news", { keepaliveMs: -1 })).toThrow(SSEOptionError);
  });

  it("aborting request.signal unsubscribes and ends the body", async () => {
    const b = broker();
    const abort = new AbortController();
    const response = await fetchHandler(b, "news", { keepaliveMs: 0 })(
      new Request("http://x/", { signal: abort.signal }),
    );
    const reading = read(response.body);
    expect(b.stats().clients).toBe(1);
    abort.abort();
    await waitFor(() => b.stats().clients === 0, "the unsubscribe");
    await waitFor(() => reading.done, "the end of the body");
    expect(b.stats().topics).toBe(0);
    expect(b.publish("news", { data: "nobody" })).toBe(0);
  });

  it("a request aborted before the handler runs is answered 499 and never subscribed", async () => {
    const b = broker();
    const subscribed = recordSubscriptions(b);
    const response = await fetchHandler(
      b,
      "news",
    )(new Request("http://x/", { signal: AbortSignal.abort() }));
    expect([response.status, response.body]).toEqual([499, null]);
    expect(subscribed).toEqual([]);
    expect(b.stats().clients).toBe(0);
  });

  it("reader.cancel() unsubscribes", async () => {
    const b = broker();
    const response = await fetchHandler(b, ["a", "b"], { keepaliveMs: 0 })(
      new Request("http://x/"),
    );
    const reader = response.body!.getReader();
    expect(b.stats().clients).toBe(1);
    await reader.cancel();
    expect(b.stats().clients).toBe(0);
    expect(b.stats().topics).toBe(0);
  });

  it("passes Last-Event-ID (header, else ?lastEventId=) to broker.subscribe", async () => {
    const b = broker();
    const spy = vi.spyOn(b, "subscribe");
    const events = fetchHandler(b, "news", { keepaliveMs: 0 });
    const responses = await Promise.all([
      events(new Request("http://x/", { headers: { "Last-Event-ID": "41" } })),
      events(new Request("http://x/?lastEventId=7")),
      events(new Request("http://x/?lastEventId=7", { headers: { "Last-Event-ID": "9" } })),
      events(new Request("http://x/")),
    ]);
    for (const response of responses) cleanups.push(() => response.body?.cancel());
    expect(spy.mock.calls.map(([, options]) => options?.lastEventId)).toEqual([
      "41",
      "7",
      "9",
      undefined,
    ]);
  });

  it("with a reader that does not read, drops and counts past bufferSize; reading resumes delivery", async () => {
    const bufferSize = 4;
    const b = broker({ bufferSize });
    const response = await fetchHandler(b, "feed", { keepaliveMs: 0 })(new Request("http://x/"));
    const total = 200;
    const batch = 10;
    const payload = "x".repeat(1000);
    const eventSize = encodeEvent({ type: "feed", data: `${total} ${payload}` }).length;
    // Nobody reads: let each batch be flushed into the stream before the next.
    for (let sent = 0; sent < total; ) {
      for (let i = 0; i < batch; i++, sent++) b.publish("feed", { data: `${sent} ${payload}` });
      await tick();
    }
    const stats = b.stats();
    expect(stats.published).toBe(total);
    expect(stats.delivered + stats.dropped).toBe(total);
    expect(stats.dropped).toBeGreaterThan(0);
    // What is held does not grow with what is published: the body's queue (16 KB
    // high-water mark) past which one more joined write of at most the per-tick budget
    // (16 KB) plus one event may land, then the ring buffer's bufferSize events.
    const perWrite = Math.ceil((16 * 1024) / eventSize);
    const bound = 2 * perWrite + 1 + bufferSize;
    expect(stats.delivered).toBeLessThanOrEqual(bound);

    const reading = read(response.body);
    b.publish("feed", { data: "after" });
    await waitFor(() => eventsOf(reading).at(-1)?.data === "after", "the event after reading");
    const received = eventsOf(reading);
    // Exactly what was not dropped, in order, then the new event.
    expect(received).toHaveLength(stats.delivered + 1);
    const numbers = received.slice(0, -1).map((e) => Number(e.data.split(" ", 1)[0]));
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true);
    expect(b.stats().dropped).toBe(stats.dropped);
  });

  it("broker.close() flushes what is queued, then ends the body", async () => {
    const b = broker();
    const response = await fetchHandler(b, "news", { keepaliveMs: 0, reconnectWindowMs: 0 })(
      new Request("http://x/"),
    );
    const reading = read(response.body);
    b.publish("news", { data: "bye" });
    b.close();
    await waitFor(() => reading.done, "the end of the body");
    expect(reading.text).toBe(encodeEvent({ type: "news", data: "bye" }));
    expect(b.stats().clients).toBe(0);
  });

  it("on a closed broker, answers a body that ends at once", async () => {
    const b = broker();
    b.close();
    const response = await fetchHandler(b, "news", { keepaliveMs: 0, reconnectWindowMs: 0 })(
      new Request("http://x/"),
    );
    const reading = read(response.body);
    await waitFor(() => reading.done, "the end of the body");
    expect(reading.text).toBe("");
    expect(b.stats().clients).toBe(0);
  });

  it("sends the keepalive comment", async () => {
    const b = broker();
    const response = await fetchHandler(b, "news", { keepaliveMs: 30 })(new Request("http://x/"));
    const reading = read(response.body);
    await waitFor(() => parseSSE(reading.text).comments.length >= 2, "two keepalives");
    expect(reading.text.startsWith(":keepalive\n\n:keepalive\n\n")).toBe(true);
  });
});
