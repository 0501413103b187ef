// A client resuming with a Last-Event-ID only the backplane knows, while the
// backplane's replay is held open (a slow engine in a reconnect storm): its
// headers and first bytes go out at once on every transport, then the replay
// as the backplane answers, then live events, each once, in order. A client
// that leaves at that wait frees everything; a replay that fails is a miss
// told on the open stream, never an error answer.
import { once } from "node:events";
import type { RequestListener } from "node:http";
import { connect, createServer, type Http2ServerRequest } from "node:http2";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import {
  cleanupAfterEach,
  collectGarbage,
  type HeldReplays,
  heldReplays,
  listen,
  parseSSE,
  type RawClient,
  rawClient,
  waitFor,
} from "@burrow/test-utils";
import { serve as honoServe } from "@hono/node-server";
import { describe, expect, it } from "vitest";
import { type Client, EventBroker, fetchHandler, handler } from "../index.js";

const cleanups = cleanupAfterEach();

/** A broker on a held-replay backplane with news 1..3 published: `held-1` resumes at 2. */
function resumable() {
  const held = heldReplays();
  const broker = new EventBroker({
    historySize: 10,
    resumeMissEvent: "resync",
    backplane: held.backplane,
  });
  cleanups.push(() => broker.close());
  for (const n of [1, 2, 3]) broker.publish("news", { data: `n${n}` });
  return { held, broker };
}

async function serve(listener: RequestListener) {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return server;
}

function resume(port: number): RawClient {
  const client = rawClient(port, "/", { headers: { "Last-Event-ID": "held-1" } });
  cleanups.push(() => client.close());
  return client;
}

const newsOf = (events: { event?: string; data: string; id?: string }[]) =>
  events.map((e) => `${e.event}=${e.data} ${e.id ?? ""}`.trim());

/** n2..n5 in order, each once: n4 published during the replay (and read by it too), n5 after. */
const RESUMED = ["news=n2 held-2", "news=n3 held-3", "news=n4 held-4", "news=n5 held-5"];

/** While the replay is held: publishes n4; then answers it; then publishes n5 once n4 is out. */
async function replayThenLive(
  held: HeldReplays,
  broker: EventBroker,
  received: () => number,
): Promise<void> {
  expect(held.replays).toHaveLength(1);
  broker.publish("news", { data: "n4" });
  await waitFor(() => held.log.length === 4 && held.watched.has("news"), "n4 ordered");
  held.replays[0]!.answer();
  await waitFor(() => received() >= 3, "the replay and n4");
  broker.publish("news", { data: "n5" });
  await waitFor(() => received() >= 4, "n5");
}

describe("a resume awaiting the backplane's replay", () => {
  it("node:http: 200, headers and a comment go out at once; then the replay, then live events, each once, in order", async () => {
    const { held, broker } = resumable();
    const server = await serve(handler(broker, "news"));
    const client = resume(server.port);
    await waitFor(() => client.comments.includes("resuming"), "the opening comment");
    expect(client.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.head).toContain("Content-Type: text/event-stream");
    expect(client.body).toBe(":resuming\n\n");
    await replayThenLive(held, broker, () => client.events.length);
    expect(newsOf(client.events)).toEqual(RESUMED);
    expect(broker.stats()).toMatchObject({ resumed: 1, resumeMisses: 0, dropped: 0 });
  });

  it("node:http2: the response headers and the comment arrive while the replay is pending", async () => {
    const { held, broker } = resumable();
    const h2 = createServer(handler(broker, "news") as (req: Http2ServerRequest) => void);
    const sessions = new Set<{ destroy(): void }>();
    h2.on("session", (session) => sessions.add(session));
    h2.listen(0, "127.0.0.1");
    await once(h2, "listening");
    cleanups.push(() => {
      for (const session of sessions) session.destroy();
      return new Promise((resolve) => h2.close(resolve));
    });
    const session = connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    session.on("error", () => {});
    cleanups.push(() => session.destroy());
    const stream = session.request({ ":path": "/", "last-event-id": "held-1" });
    stream.on("error", () => {});
    stream.setEncoding("utf8");
    let body = "";
    stream.on("data", (chunk: string) => {
      body += chunk;
    });
    const [headers] = await once(stream, "response");
    expect(headers).toMatchObject({ ":status": 200, "content-type": "text/event-stream" });
    await waitFor(() => body === ":resuming\n\n", "the opening comment");
    await replayThenLive(held, broker, () => parseSSE(body).events.length);
    expect(newsOf(parseSSE(body).events)).toEqual(RESUMED);
  });

  /** A bridge that writes the head with the Response's first chunk (many do: `Readable.fromWeb(body).pipe(res)`). */
  const piped =
    (fetchListener: (request: Request) => Promise<Response>): RequestListener =>
    async (req, res) => {
      const headers = new Headers(req.headers as Record<string, string>);
      const response = await fetchListener(
        new Request(`http://${req.headers.host}${req.url}`, { headers }),
      );
      response.headers.forEach((value, name) => {
        res.setHeader(name, value);
      });
      res.writeHead(response.status);
      Readable.fromWeb(response.body! as never).pipe(res);
    };

  it.each(["a bridge that sends the head with the first chunk", "@hono/node-server"])(
    "fetchHandler behind %s: 200, headers and the comment at once, then the replay, then live events",
    async (bridge) => {
      const { held, broker } = resumable();
      const fetchListener = fetchHandler(broker, "news");
      let port: number;
      if (bridge.startsWith("@hono")) {
        const hono = honoServe({ fetch: fetchListener, port: 0, hostname: "127.0.0.1" });
        await once(hono, "listening");
        cleanups.push(() => new Promise((resolve) => hono.close(resolve)));
        port = (hono.address() as AddressInfo).port;
      } else {
        port = (await serve(piped(fetchListener))).port;
      }
      const client = resume(port);
      await waitFor(() => client.comments.includes("resuming"), "the head and the opening comment");
      expect(client.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(client.head.toLowerCase()).toContain("content-type: text/event-stream");
      await replayThenLive(held, broker, () => client.events.length);
      expect(newsOf(client.events)).toEqual(RESUMED);
    },
  );

  it("a client that leaves at that wait frees everything: client, slot, topic, the backplane's read, its memory", async () => {
    const { held, broker } = resumable();
    let opened: WeakRef<Client> | undefined;
    broker.observe({
      opened: (client) => {
        opened ??= new WeakRef(client);
      },
    });
    const server = await serve(handler(broker, "news", { maxClients: 1 }));
    const leaving = resume(server.port);
    await waitFor(() => leaving.comments.includes("resuming"), "the opening comment");
    const replay = held.replays[0]!;
    leaving.close();
    await waitFor(() => broker.stats().clients === 0, "the client to be gone");
    expect(replay.signal?.aborted).toBe(true);
    expect(held.watched.has("news")).toBe(false);
    // The backplane never answers it (a hung engine): nothing of the client is kept meanwhile.
    await waitFor(() => {
      collectGarbage();
      return opened?.deref() === undefined;
    }, "the client to be collected");
    replay.answer();
    // Its slot is free (maxClients 1): the next client streams.
    const next = resume(server.port);
    await waitFor(() => next.comments.includes("resuming"), "the next client's stream");
    expect(broker.stats()).toMatchObject({ clients: 1, resumed: 0, refused: { limit: 0 } });
  });

  it.each([
    ["fails", (held: HeldReplays) => held.replays[0]!.fail(new Error("engine gone"))],
    ["times out (a miss)", (held: HeldReplays) => held.replays[0]!.miss()],
  ])(
    "a replay that %s after the head went out is a resume miss on the open stream, then live events",
    async (_, end) => {
      const { held, broker } = resumable();
      const server = await serve(handler(broker, "news"));
      const client = resume(server.port);
      await waitFor(() => client.comments.includes("resuming"), "the opening comment");
      end(held);
      await waitFor(() => client.events.length === 1, "the resume-miss event");
      broker.publish("news", { data: "n4" });
      await waitFor(() => client.events.length === 2, "n4");
      expect(client.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(newsOf(client.events)).toEqual(["resync=", "news=n4 held-4"]);
      expect(broker.stats()).toMatchObject({ resumed: 0, resumeMisses: 1, clients: 1 });
    },
  );

  it("a backplane whose replay throws (instead of rejecting) is a miss too, never a 500", async () => {
    const { held, broker } = resumable();
    held.backplane.replay = () => {
      throw new Error("engine gone");
    };
    const server = await serve(handler(broker, "news"));
    const client = resume(server.port);
    await waitFor(() => client.events.length === 1, "the resume-miss event");
    expect(client.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.body).toBe(":resuming\n\nevent: resync\ndata: \n\n");
    client.close();
    await waitFor(() => broker.stats().clients === 0, "the client to be gone");
  });
});
