// Hostile and unusual requests against a real node:http server: each gets its
// documented status (README "Options": the order of checks and their
// answers), nothing is subscribed for a refused one, and the streams already
// open keep receiving events throughout.
import { connect } from "node:net";
import { listen, rawClient, type TestServer, waitFor } from "@burrow/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import {
  EventBroker,
  fetchHandler,
  type HandlerOptions,
  handlerFunc,
  type SSERequest,
} from "../index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const topicsFromQuery = (req: SSERequest) =>
  new URL(req.url ?? "/", "http://x").searchParams.getAll("topic");

async function serve(broker: EventBroker, options: HandlerOptions = {}): Promise<TestServer> {
  server = await listen(handlerFunc(broker, topicsFromQuery, { keepaliveMs: 0, ...options }));
  return server;
}

/**
 * Sends `head` (request line and headers, exactly as given) on a raw socket
 * and resolves with the status code and the response head once it arrives;
 * the socket is then destroyed.
 */
function rawStatus(port: number, head: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const end = received.indexOf("\r\n\r\n");
      if (end === -1) return;
      socket.destroy();
      const text = received.slice(0, end);
      resolve({ status: Number(text.split(" ")[1]), head: text });
    });
    socket.on("error", reject);
    socket.on("close", () =>
      reject(new Error(`no response head; got ${JSON.stringify(received)}`)),
    );
    socket.write(`${head}\r\n\r\n`);
  });
}

/** A stream that was open before the bad requests: it must still get a fresh event. */
async function expectStillServing(
  broker: EventBroker,
  watcher: ReturnType<typeof rawClient>,
  marker: string,
): Promise<void> {
  broker.publish("live", { data: marker });
  await waitFor(() => watcher.events.some((e) => e.data === marker), `event ${marker}`);
}

describe("Accept header", () => {
  it.each([
    ["no Accept header (curl without -H)", ""],
    ["Accept: application/json", "\r\nAccept: application/json"],
    ["Accept: text/html (a browser navigating)", "\r\nAccept: text/html,application/xhtml+xml"],
    ["Accept: */*", "\r\nAccept: */*"],
  ])("streams anyway with %s", async (_name, accept) => {
    const broker = new EventBroker();
    const { port } = await serve(broker);
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.write(`GET /?topic=live HTTP/1.1\r\nHost: 127.0.0.1${accept}\r\n\r\n`);
    await waitFor(() => broker.stats().clients === 1, "the subscription");
    broker.publish("live", { data: "hello" });
    await waitFor(() => text.includes("data: hello"), "the event");
    expect(text).toMatch(/^HTTP\/1.1 200/);
    expect(text).toMatch(/content-type: text\/event-stream/i);
    socket.destroy();
    await waitFor(() => broker.stats().clients === 0, "the unsubscription");
  });
});

describe("malformed Last-Event-ID", () => {
  it("answers 400 to an oversized one (header and query), 431 past Node's header limit", async () => {
    const broker = new EventBroker({ historySize: 8 });
    const { port } = await serve(broker);
    const watcher = rawClient(port, "/?topic=live");
    await watcher.ready;

    const header = await rawStatus(
      port,
      `GET /?topic=live HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${"7".repeat(257)}`,
    );
    expect(header.status).toBe(400);
    const query = await rawStatus(
      port,
      `GET /?topic=live&lastEventId=${"a".repeat(5000)} HTTP/1.1\r\nHost: x`,
    );
    expect(query.status).toBe(400);
    const huge = await rawStatus(
      port,
      `GET /?topic=live HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${"x".repeat(100_000)}`,
    );
    expect(huge.status).toBe(431);
    expect(broker.stats().clients).toBe(1);
    await expectStillServing(broker, watcher, "after-oversized");
    watcher.close();
  });

  it("answers 400 (Node's parser) to one holding a control character, and keeps serving", async () => {
    const broker = new EventBroker({ historySize: 8 });
    const { port } = await serve(broker);
    const watcher = rawClient(port, "/?topic=live");
    await watcher.ready;
    const bad = await rawStatus(
      port,
      "GET /?topic=live HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a\0b",
    );
    expect(bad.status).toBe(400);
    expect(broker.stats().clients).toBe(1);
    await expectStillServing(broker, watcher, "after-nul");
    watcher.close();
  });

  it("treats an unknown or junk id within the limit as a resume miss: 200, miss event, then live", async () => {
    const broker = new EventBroker({ historySize: 8, resumeMissEvent: "reload" });
    const { port } = await serve(broker);
    broker.publish("live", { data: "old" });
    const junk = [
      "-1",
      "1e308",
      "99999999999999999999999",
      "NaN",
      "__proto__",
      "constructor",
      "../../etc/passwd",
      "ünï©ødé-😀",
      "<script>alert(1)</script>",
    ];
    const clients = junk.map((id) =>
      rawClient(port, "/?topic=live", { headers: { "Last-Event-ID": encodeURI(id) } }),
    );
    await Promise.all(clients.map((c) => c.ready));
    for (const client of clients) expect(client.head).toMatch(/^HTTP\/1.1 200/);
    await waitFor(() => broker.stats().clients === junk.length, "every junk-id client");
    broker.publish("live", { data: "fresh" });
    for (const client of clients) {
      await waitFor(() => client.events.length === 2, "the miss event and the live one");
      expect(client.events.map((e) => e.event ?? e.data)).toEqual(["reload", "live"]);
      expect(client.events[1]?.data).toBe("fresh");
      client.close();
    }
    expect(broker.stats().resumeMisses).toBe(junk.length);
    expect(broker.stats().resumed).toBe(0);
  });
});

describe("hostile topic parameters", () => {
  const hostile: [string, string, number][] = [
    ["a 100 KB topic (Node's URL limit)", "x".repeat(100_000), 431],
    ["a 129-character topic", "t".repeat(129), 400],
    ["a NUL", "a\u0000b", 400],
    ["an escape sequence", "a\u001b[2Jb", 400],
    ["CR LF (header injection attempt)", "a\r\nSet-Cookie: x=1", 400],
    ["a tab", "a\tb", 400],
    ["a zero-width joiner", "a\u200db", 400],
    ["a right-to-left override", "abc\u202Egpj.exe", 400],
    ["a private-use character", "a\ue000", 400],
    ["an empty topic", "", 400],
  ];

  it.each(hostile)(
    "answers %s with its status, subscribing nothing",
    async (_name, topic, status) => {
      const broker = new EventBroker();
      const { port } = await serve(broker);
      const watcher = rawClient(port, "/?topic=live");
      await watcher.ready;
      const answer = await rawStatus(
        port,
        `GET /?topic=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: x`,
      );
      expect(answer.status).toBe(status);
      expect(broker.stats()).toMatchObject({ clients: 1, topics: 1 });
      await expectStillServing(broker, watcher, `after-${status}`);
      watcher.close();
    },
  );

  it("streams path-traversal and unicode topics as plain names, isolated from look-alikes", async () => {
    const broker = new EventBroker();
    const { port } = await serve(broker);
    const names = ["../../etc/passwd", "..%2F..%2F", "räume/küche", "日本語", "😀", "%00", "a/./b"];
    const clients = names.map((name) => rawClient(port, `/?topic=${encodeURIComponent(name)}`));
    await Promise.all(clients.map((c) => c.ready));
    await waitFor(() => broker.stats().topics === names.length, "every topic");
    names.forEach((name, i) => {
      broker.publish(name, { data: `for ${i}` });
    });
    broker.publish("etc/passwd", { data: "never" });
    broker.publish("a/b", { data: "never" });
    for (const [i, client] of clients.entries()) {
      await waitFor(() => client.events.length === 1, `the event of ${names[i]}`);
      expect(client.events[0]).toMatchObject({ event: names[i], data: `for ${i}` });
    }
    for (const client of clients) client.close();
    await waitFor(() => broker.stats().clients === 0, "everyone gone");
  });

  it("honours a stricter topicPattern: path-like names are refused with 400", async () => {
    const broker = new EventBroker();
    const { port } = await serve(broker, { topicPattern: /^[a-z0-9:_-]+$/ });
    for (const topic of ["../x", "a/b", "A", "ü"]) {
      const answer = await rawStatus(
        port,
        `GET /?topic=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: x`,
      );
      expect(answer.status).toBe(400);
    }
    expect((await rawStatus(port, "GET /?topic=project:42 HTTP/1.1\r\nHost: x")).status).toBe(200);
  });

  it("answers 400 to 33 topics and to 1000 distinct ones; 1000 copies of one name are one topic", async () => {
    const broker = new EventBroker();
    const { port } = await serve(broker);
    const many = Array.from({ length: 33 }, (_, i) => `topic=t${i}`).join("&");
    expect((await rawStatus(port, `GET /?${many} HTTP/1.1\r\nHost: x`)).status).toBe(400);
    // Duplicates collapse: 1000 copies of one name are one subscription.
    const dupes = Array.from({ length: 1000 }, () => "topic=a").join("&");
    expect((await rawStatus(port, `GET /?${dupes} HTTP/1.1\r\nHost: x`)).status).toBe(200);
    const distinct = Array.from({ length: 1000 }, (_, i) => `topic=${i}`).join("&");
    expect((await rawStatus(port, `GET /?${distinct} HTTP/1.1\r\nHost: x`)).status).toBe(400);
  });
});

describe("error answers", () => {
  it("echo hostile input only as plain text that a browser must not sniff as HTML", async () => {
    const broker = new EventBroker();
    const { url } = await serve(broker);
    const markup = "<img src=x onerror=alert(1)>";
    const response = await fetch(`${url}/?topic=${encodeURIComponent(markup)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cache-control")).toBe("no-store");
    // At most 40 characters of it, JSON-quoted.
    expect(await response.text()).toBe(
      `sse: topic ${JSON.stringify(markup)} has characters that are not allowed`,
    );
    const fetchAnswer = await fetchHandler(broker, (req) =>
      new URL(req.url).searchParams.getAll("topic"),
    )(new Request(`${url}/?topic=${encodeURIComponent(markup)}`));
    expect(fetchAnswer.status).toBe(400);
    expect(fetchAnswer.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("a flood past maxClients", () => {
  it("admits exactly maxClients, answers the rest 503 with Retry-After, and keeps streaming to the admitted", async () => {
    const max = 150;
    const flood = 400;
    const broker = new EventBroker();
    const { port } = await serve(broker, { maxClients: max });
    const clients = Array.from({ length: flood }, () => rawClient(port, "/?topic=live"));
    await Promise.all(clients.map((c) => c.ready));
    const admitted = clients.filter((c) => /^HTTP\/1.1 200/.test(c.head));
    const refused = clients.filter((c) => /^HTTP\/1.1 503/.test(c.head));
    expect(admitted).toHaveLength(max);
    expect(refused).toHaveLength(flood - max);
    for (const client of refused) expect(client.head).toMatch(/\r\nretry-after: 5(\r\n|$)/i);
    expect(broker.stats().clients).toBe(max);

    broker.publish("live", { data: "to the admitted" });
    for (const client of admitted) {
      await waitFor(() => client.events.length === 1, "the event");
    }
    for (const client of refused) expect(client.events).toEqual([]);
    for (const client of clients) client.close();
    await waitFor(() => broker.stats().clients === 0, "everyone gone");
    // Room again once they left.
    expect((await rawStatus(port, "GET /?topic=live HTTP/1.1\r\nHost: x")).status).toBe(200);
  });
});
