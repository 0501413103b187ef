/**
 * The proxy recipe (recipes/proxies.md) behind a real nginx: its `nginx`
 * block, extracted from the page as written, is the location of a private
 * nginx in front of a core handler on node:http, and what the page claims
 * holds through it: events pass one by one, unbuffered; the app is spoken to
 * in HTTP/1.1 without `Connection: close`; `proxy_read_timeout` is an idle
 * timeout that the keepalive comments stay under, and a stream it closes
 * resumes with `Last-Event-ID`; htmx 4's and htmx 2's requests each get
 * their format; over HTTP/2 more than six streams share one connection.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { connect as connectH2 } from "node:http2";
import { join } from "node:path";
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { listen, parseSSE, type RawClient, rawClient, waitFor } from "@burrow/test-utils";
import { freePort } from "@burrow/test-utils/backplane-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Nginx, recipeBlock, startNginx } from "./scripts/nginx.js";
import { DOCS } from "./scripts/runnable.js";

/** nginx's default is 60 s; the idle-timeout test scales it and the keepalive down. */
const IDLE_TIMEOUT_S = 2;
const KEEPALIVE_MS = 250;

const broker = new EventBroker({ historySize: 16 });
const query = (req: IncomingMessage) => new URL(req.url!, "http://app").searchParams;
const topicOf = (req: IncomingMessage) => query(req).get("topic") ?? "none";
const handlers = {
  recipe: handlerFunc(broker, topicOf),
  frequent: handlerFunc(broker, topicOf, { keepaliveMs: KEEPALIVE_MS }),
};
/** How nginx spoke to the app: each request's HTTP version and `Connection` header. */
const upstream: { version: string; connection: string | undefined }[] = [];
const clients: { close(): void }[] = [];
let ports: { plain: number; h2: number; short: number };
let app: Awaited<ReturnType<typeof listen>>;
let nginx: Nginx;

beforeAll(async () => {
  app = await listen((req, res) => {
    upstream.push({ version: req.httpVersion, connection: req.headers.connection });
    handlers[query(req).has("keepalive") ? "frequent" : "recipe"](req, res);
  });
  const block = recipeBlock(
    readFileSync(join(DOCS, "recipes/proxies.md"), "utf8"),
    `127.0.0.1:${app.port}`,
  );
  ports = { plain: await freePort(), h2: await freePort(), short: await freePort() };
  nginx = await startNginx(
    [
      { listen: `127.0.0.1:${ports.plain}`, body: block },
      { listen: `127.0.0.1:${ports.h2} http2`, body: block },
      {
        listen: `127.0.0.1:${ports.short}`,
        body: `proxy_read_timeout ${IDLE_TIMEOUT_S}s;\n${block}`,
      },
    ],
    Object.values(ports),
  );
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  broker.close();
  await nginx?.stop();
  await app?.close();
});

/**
 * A stream of `topic` through nginx on `port`, once its head arrived: at
 * once, before any event or comment (a buffering nginx holds it until the
 * first body bytes, the first keepalive comment, 30 s later).
 */
async function stream(port: number, topic: string, headers: Record<string, string> = {}) {
  const client = rawClient(port, `/events?topic=${topic}`, { headers });
  clients.push(client);
  await waitFor(() => client.head !== "", "the response head through nginx");
  expect(client.head).toMatch(/^HTTP\/1\.1 200/);
  return client;
}

/** Waits for `client`'s `n`th event. */
async function nth(client: RawClient, n: number) {
  await waitFor(() => client.events.length >= n, `event ${n} through nginx`);
  return client.events[n - 1]!;
}

describe("the nginx recipe", () => {
  it("passes each event as it is published, without buffering, and speaks HTTP/1.1 to the app", async () => {
    const client = await stream(ports.plain, "one-by-one");
    for (const n of [1, 2, 3]) {
      broker.publish("one-by-one", { data: `event ${n}` });
      expect((await nth(client, n)).data).toBe(`event ${n}`);
    }
    expect(upstream.length).toBeGreaterThan(0);
    for (const request of upstream)
      expect(request).toEqual({ version: "1.1", connection: undefined });
  });

  it("keeps a stream open past proxy_read_timeout while keepalive comments flow", async () => {
    const client = rawClient(ports.short, `/events?topic=kept&keepalive`);
    clients.push(client);
    await client.ready;
    // Each comment comes at least KEEPALIVE_MS after the last: these span the timeout.
    const comments = Math.ceil((IDLE_TIMEOUT_S * 1000 * 1.5) / KEEPALIVE_MS);
    await waitFor(() => client.comments.length >= comments, `${comments} keepalive comments`);
    expect(client.comments.every((comment) => comment === "keepalive")).toBe(true);
    broker.publish("kept", { data: "still here" });
    expect((await nth(client, 1)).data).toBe("still here");
  });

  it("closes an idle stream at proxy_read_timeout, which resumes with Last-Event-ID", async () => {
    const client = await stream(ports.short, "resumed");
    broker.publish("resumed", { data: "before" });
    const before = await nth(client, 1);
    await client.ended;
    expect(nginx.errors()).toContain("upstream timed out");
    broker.publish("resumed", { data: "missed" });
    const again = await stream(ports.plain, "resumed", { "Last-Event-ID": before.id! });
    broker.publish("resumed", { data: "live" });
    await nth(again, 2);
    expect(again.events.map((event) => event.data)).toEqual(["missed", "live"]);
  });

  it("answers htmx 4 (HX-Request) with unnamed messages and others with named events", async () => {
    const htmx4 = await stream(ports.plain, "notes", { "HX-Request": "true" });
    const eventSource = await stream(ports.plain, "notes");
    broker.publish("notes", { data: "<li>hi</li>" });
    expect(await nth(htmx4, 1)).toMatchObject({ event: undefined, data: "<li>hi</li>" });
    expect(await nth(eventSource, 1)).toMatchObject({ event: "notes", data: "<li>hi</li>" });
  });

  it("serves more than six streams over one HTTP/2 connection", async () => {
    const session = connectH2(`http://127.0.0.1:${ports.h2}`);
    clients.push(session);
    const bodies = Array.from({ length: 8 }, () => {
      const request = session.request({ ":path": "/events?topic=multiplexed" });
      const body = { status: 0, text: "" };
      request.on("response", (headers) => {
        body.status = Number(headers[":status"]);
      });
      request.setEncoding("utf8").on("data", (text: string) => {
        body.text += text;
      });
      return body;
    });
    await waitFor(() => bodies.every((body) => body.status === 200), "8 HTTP/2 streams open");
    broker.publish("multiplexed", { data: "to all" });
    await waitFor(
      () => bodies.every((body) => parseSSE(body.text).events.length === 1),
      "the event on every stream",
    );
    for (const body of bodies) expect(parseSSE(body.text).events[0]!.data).toBe("to all");
  });
});
