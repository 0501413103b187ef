import type { IncomingMessage, RequestListener } from "node:http";
import {
  blockStream,
  cleanupAfterEach,
  fromFetch,
  listen,
  type RawClient,
  rawClient,
  readUntil,
  recordEvents,
  type TestServer,
  thrownBy,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import {
  type BrokerOptions,
  EventBroker,
  fetchHandler,
  handler,
  handlerFunc,
  SSEOptionError,
} from "../index.js";

// A handler's `snapshot` option: a snapshot rendered from the request, for
// that connection alone. Real servers on loopback; clients parsed by
// eventsource-parser (raw sockets, to set headers and stop reading) or the
// `eventsource` package.

const cleanups = cleanupAfterEach();

/** Each user's view of the feed, as the page renders it for them. */
const feeds: Record<string, string[]> = {};
const renderFeed = (user: string) => (feeds[user] ?? []).map((n) => `<li>${n}</li>`).join("");
const userOf = (req: IncomingMessage) => String(req.headers["x-user"]);
const partial = (html: string, target = "#feed") =>
  `<hx-partial hx-target="${target}" hx-swap="innerHTML">${html}</hx-partial>`;

function newBroker(options: BrokerOptions): EventBroker {
  const broker = new EventBroker(options);
  cleanups.push(() => broker.close());
  return broker;
}

async function serve(listener: RequestListener): Promise<TestServer> {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return server;
}

/** A client of `user` (the `x-user` header), parsed by eventsource-parser. */
function connect(
  server: TestServer,
  user: string,
  options: { lastEventId?: string; read?: boolean } = {},
): RawClient {
  const headers: Record<string, string> = { "x-user": user };
  if (options.lastEventId !== undefined) headers["Last-Event-ID"] = options.lastEventId;
  const client = rawClient(server.port, "/", { headers, read: options.read });
  cleanups.push(() => client.close());
  return client;
}

/** Clients of two users resuming from an id the broker does not know, once each got an event. */
async function resumingMissed(
  server: TestServer,
  ...users: [string, string]
): Promise<[RawClient, RawClient]> {
  const [a, b] = users.map((user) => connect(server, user, { lastEventId: "gone" }));
  await waitFor(() => a!.events.length === 1 && b!.events.length === 1, "each one's snapshot");
  return [a!, b!];
}

const dataOf = (client: RawClient, type = "feed") =>
  client.events.filter((e) => e.event === type).map((e) => e.data);

/** Records the process warnings emitted from now until the test ends. */
function recordWarnings(): string[] {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on("warning", onWarning);
  cleanups.push(() => process.off("warning", onWarning));
  return warnings;
}

describe("a snapshot of the request's own (handler option snapshot)", () => {
  it("two users resuming past history each get the region rendered from their own request", async () => {
    feeds.ann = ["a1", "a2"];
    feeds.bob = ["b1"];
    const broker = newBroker({ historySize: 2, topics: { feed: { target: "#feed" } } });
    const snapshot = vi.fn((_topic: string, req: IncomingMessage) => renderFeed(userOf(req)));
    const server = await serve(handler(broker, "feed", { snapshot }));
    const [ann, bob] = await resumingMissed(server, "ann", "bob");
    expect(dataOf(ann)).toEqual([partial("<li>a1</li><li>a2</li>")]);
    expect(dataOf(bob)).toEqual([partial("<li>b1</li>")]);
    expect(snapshot.mock.calls.map(([topic]) => topic)).toEqual(["feed", "feed"]);
    broker.publish("feed", { data: "<li>live</li>" });
    await waitFor(() => ann.events.length === 2 && bob.events.length === 2, "the live event");
    expect(dataOf(ann)[1]).toBe("<li>live</li>");
    expect(broker.stats().snapshots).toEqual({ miss: 2, restart: 0, overflow: 0, connect: 0 });
  });

  it("two users whose buffers overflowed each get their own snapshot once they read again", async () => {
    feeds.ann = ["a1"];
    feeds.bob = ["b1"];
    const broker = newBroker({ bufferSize: 4, topics: { feed: { target: "#feed" } } });
    const snapshot = vi.fn((_topic: string, req: IncomingMessage) => renderFeed(userOf(req)));
    const events = handlerFunc(broker, (req) => ["feed", `bulk:${userOf(req)}`], {
      snapshot,
      keepaliveMs: 0,
    });
    const server = await serve(events);
    const ann = connect(server, "ann", { read: false });
    const bob = connect(server, "bob", { read: false });
    await waitFor(() => broker.stats().clients === 2, "both subscribed");
    await blockStream(broker, "bulk:ann");
    await blockStream(broker, "bulk:bob");
    feeds.ann.push("a2");
    feeds.bob.push("b2");
    // Both buffers are full: the feed's event is dropped for each, and a snapshot takes its place.
    broker.publish("feed", { data: "<li>new</li>" });
    expect(snapshot).not.toHaveBeenCalled(); // a stuck client asks for nothing
    await readUntil(broker, "bulk:ann", ann, "ann reads");
    await readUntil(broker, "bulk:bob", bob, "bob reads");
    await waitFor(() => dataOf(ann).length === 1 && dataOf(bob).length === 1, "both snapshots");
    expect(dataOf(ann)).toEqual([partial("<li>a1</li><li>a2</li>")]);
    expect(dataOf(bob)).toEqual([partial("<li>b1</li><li>b2</li>")]);
    expect(broker.stats().snapshots.overflow).toBe(2);
  });

  it("undefined falls back to the topic's own snapshot, shared by the clients that need it", async () => {
    feeds.ann = ["mine"];
    const shared = vi.fn(() => "<li>everyone's</li>");
    const broker = newBroker({
      historySize: 1,
      topics: { feed: { snapshot: shared, target: "#feed" } },
    });
    const snapshot = (_topic: string, req: IncomingMessage) =>
      userOf(req) === "ann" ? renderFeed("ann") : undefined;
    const server = await serve(handler(broker, "feed", { snapshot }));
    const [ann, guest] = await resumingMissed(server, "ann", "guest");
    expect(dataOf(ann)).toEqual([partial("<li>mine</li>")]);
    expect(dataOf(guest)).toEqual([partial("<li>everyone's</li>")]);
    expect(shared).toHaveBeenCalledTimes(1);
    expect(broker.stats().snapshots.miss).toBe(2);
    // Ann's own and the shared one; the guest's undefined (a fall back) is no render.
    expect(broker.stats().snapshotRenders).toBe(2);
  });

  it("with snapshotOnConnect, a connection without an id starts with its own (counted as connect)", async () => {
    feeds.ann = ["a1"];
    const broker = newBroker({ topics: { feed: { target: "#feed" } } });
    const server = await serve(
      handler(broker, "feed", {
        snapshotOnConnect: true,
        snapshot: (_topic, req) => renderFeed(userOf(req)),
      }),
    );
    const ann = recordEvents(server.url, ["feed"], {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...init.headers, "x-user": "ann" } }),
    });
    cleanups.push(() => ann.close());
    expect(await ann.waitForCount(1)).toEqual([
      { event: "feed", data: partial("<li>a1</li>"), id: "" },
    ]);
    expect(broker.stats().snapshots.connect).toBe(1);
  });

  it("a fetch handler renders it from the fetch Request", async () => {
    feeds.ann = ["a1"];
    const broker = newBroker({ historySize: 1, topics: { feed: { target: "#feed" } } });
    const seen: unknown[] = [];
    const events = fetchHandler(broker, "feed", {
      snapshot: (_topic, request) => {
        seen.push(request);
        return renderFeed(String(request.headers.get("x-user")));
      },
    });
    const server = await serve(fromFetch(events));
    const ann = connect(server, "ann", { lastEventId: "gone" });
    await waitFor(() => ann.events.length === 1, "the snapshot");
    expect(dataOf(ann)).toEqual([partial("<li>a1</li>")]);
    expect(seen[0]).toBeInstanceOf(Request);
  });
});

describe("a request's snapshot that fails", () => {
  const failing: [string, () => unknown, string][] = [
    [
      "throws",
      () => {
        throw new Error("db down");
      },
      "db down",
    ],
    ["rejects", () => Promise.reject(new Error("db down")), "db down"],
    [
      "resolves to undefined",
      () => Promise.resolve(undefined),
      "resolved to undefined, not a string of HTML: to fall back to the policy's snapshot, return undefined itself, not a promise of it",
    ],
    [
      "hangs past the topic's snapshotTimeoutMs",
      () => new Promise(() => {}),
      "did not settle within 30 ms",
    ],
  ];
  for (const [name, fail, why] of failing) {
    it(`${name}: counted, warned once, its client gets the events published meanwhile`, async () => {
      const warnings = recordWarnings();
      const broker = newBroker({
        historySize: 1,
        topics: { feed: { target: "#feed", snapshotTimeoutMs: 30 } },
      });
      const snapshot = vi.fn(fail);
      const server = await serve(handler(broker, "feed", { snapshot: snapshot as () => string }));
      const ann = connect(server, "ann", { lastEventId: "gone" });
      await waitFor(() => snapshot.mock.calls.length === 1, "the render to start");
      broker.publish("feed", { data: "<li>after</li>" });
      await waitFor(() => broker.stats().snapshotFailures === 1, "the render to fail");
      await waitFor(() => ann.events.length === 1, "the event held meanwhile");
      expect(dataOf(ann)).toEqual(["<li>after</li>"]);
      expect(broker.stats().snapshots.miss).toBe(0);
      await waitFor(() => warnings.some((m) => m.includes("snapshot of topic")), "the warning");
      expect(warnings.filter((m) => m.includes("snapshot of topic"))).toEqual([
        expect.stringContaining(
          `topic "feed" (rendered by a handler's snapshot option) failed (${why}); its clients`,
        ),
      ]);
    });
  }

  it("undefined when the topic has no snapshot of its own fails, naming the fix", async () => {
    const warnings = recordWarnings();
    const broker = newBroker({ historySize: 1, topics: { feed: { target: "#feed" } } });
    const server = await serve(handler(broker, "feed", { snapshot: () => undefined }));
    const ann = connect(server, "ann", { lastEventId: "gone" });
    await waitFor(() => broker.stats().snapshotFailures === 1, "the render to fail");
    broker.publish("feed", { data: "<li>after</li>" });
    await waitFor(() => ann.events.length === 1, "the next event");
    await waitFor(() => warnings.some((m) => m.includes("snapshot of topic")), "the warning");
    expect(warnings.find((m) => m.includes("snapshot of topic"))).toMatch(
      /option\) failed \(returned undefined, .* or give the policy a snapshot\)/,
    );
  });
});

describe("a client that leaves while its own snapshot renders", () => {
  it("is not sent it nor counted; another client is served, and nothing is left waiting", async () => {
    let release!: (html: string) => void;
    const broker = newBroker({ historySize: 1, topics: { feed: { target: "#feed" } } });
    const snapshot = vi.fn((_topic: string, req: IncomingMessage) =>
      userOf(req) === "ann" ? new Promise<string>((r) => (release = r)) : "<li>bob's</li>",
    );
    const server = await serve(handler(broker, "feed", { snapshot }));
    const ann = connect(server, "ann", { lastEventId: "gone" });
    await waitFor(() => snapshot.mock.calls.length === 1, "ann's render to start");
    const bob = connect(server, "bob", { lastEventId: "gone" });
    await waitFor(() => bob.events.length === 1, "bob's snapshot");
    ann.close();
    await waitFor(() => broker.stats().clients === 1, "ann gone");
    release("<li>ann's</li>");
    await new Promise((r) => setImmediate(r));
    expect(broker.stats()).toMatchObject({ snapshots: { miss: 1 }, snapshotFailures: 0 });
    expect(dataOf(bob)).toEqual([partial("<li>bob's</li>")]);
    expect(ann.events).toEqual([]);
    broker.publish("feed", { data: "<li>live</li>" });
    await waitFor(() => bob.events.length === 2, "bob's live event");
  });
});

describe("a client that leaves before its own snapshot renders", () => {
  it("is rendered nothing", async () => {
    const renderSnapshot = vi.fn(() => "<li>never</li>");
    const broker = newBroker({ historySize: 1, topics: { feed: { target: "#feed" } } });
    const client = broker.subscribe("feed", { lastEventId: "gone", renderSnapshot });
    // Its first read asks for the repair; the render starts at the end of the tick.
    const read = client[Symbol.asyncIterator]().next();
    broker.unsubscribe(client);
    expect((await read).done).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(renderSnapshot).not.toHaveBeenCalled();
    expect(broker.stats()).toMatchObject({ snapshots: { miss: 0 }, snapshotFailures: 0 });
  });
});

describe("own renders and the topic's shared one", () => {
  it("a repair needed again while the shared render runs takes the own render, not the stale shared one", async () => {
    let releaseShared!: (html: string) => void;
    let releaseOwn!: (html: string) => void;
    const shared = vi.fn(() => new Promise<string>((r) => (releaseShared = r)));
    const broker = newBroker({
      bufferSize: 2,
      historySize: 1,
      topics: { feed: { snapshot: shared, target: "#feed" } },
    });
    let calls = 0;
    // First asked: undefined (the shared render); asked again: its own.
    const renderSnapshot = () =>
      calls++ === 0 ? undefined : new Promise<string>((r) => (releaseOwn = r));
    const client = broker.subscribe("feed", { lastEventId: "gone", renderSnapshot });
    const it = client[Symbol.asyncIterator]();
    const first = it.next();
    await waitFor(() => shared.mock.calls.length === 1, "the shared render to start");
    // Its buffer overflows while the shared render runs: it needs a newer repair.
    for (let i = 0; i < 3; i++) broker.publish("feed", { data: `<li>${i}</li>` });
    await waitFor(() => calls === 2, "its own render to start");
    releaseShared("<li>stale</li>");
    await new Promise((r) => setImmediate(r));
    releaseOwn("<li>fresh</li>");
    expect((await first).value?.data).toBe(partial("<li>fresh</li>"));
    // Counted once, for the reason the repair was first needed.
    expect(broker.stats().snapshots).toMatchObject({ miss: 1, overflow: 0 });
    expect(shared).toHaveBeenCalledTimes(1);
  });
});

describe("a policy with a target alone", () => {
  it("repairs only clients with a renderer of their own; others lose events as on a plain log", async () => {
    const broker = newBroker({
      bufferSize: 2,
      historySize: 2,
      resumeMissEvent: "reload",
      topics: { feed: { target: "#feed" } },
    });
    const plain = broker.subscribe("feed");
    const own = broker.subscribe("feed", { renderSnapshot: () => "<li>own</li>" });
    for (let i = 0; i < 4; i++) broker.publish("feed", { data: `<li>${i}</li>` });
    expect([plain.dropped, own.dropped]).toEqual([2, 0]);
    const missed = broker.subscribe("feed", { lastEventId: "gone" });
    expect((await missed[Symbol.asyncIterator]().next()).value?.type).toBe("reload");
    expect((await own[Symbol.asyncIterator]().next()).value?.data).toBe(partial("<li>own</li>"));
    expect(broker.stats().snapshots.overflow).toBe(1);
  });
});

describe("the snapshot option is checked", () => {
  const broker = new EventBroker({ topics: { feed: { target: "#feed" } } });

  it("a function, else an SSEOptionError naming it (a boolean: the option meant)", () => {
    const err = thrownBy(() => handler(broker, "feed", { snapshot: "<ul>" } as never));
    expect(SSEOptionError.isInstance(err) && err.option).toBe("snapshot");
    expect(() => handler(broker, "feed", { snapshot: true } as never)).toThrow(
      /snapshot: must be a function .* — snapshotOnConnect: true starts a connection/,
    );
    expect(() => broker.subscribe("feed", { renderSnapshot: 5 } as never)).toThrow(
      /renderSnapshot: must be a function/,
    );
  });

  it("fixed topics none of which has a target fail at creation, naming the fix", () => {
    const message =
      /sse: snapshot: is used only for topics whose policy has a target, and none of news, status has one, got a function — give one a target in the broker's topics option/;
    const snapshot = () => "<li>x</li>";
    expect(() => handler(broker, ["news", "status"], { snapshot })).toThrow(message);
    expect(() => fetchHandler(broker, ["news", "status"], { snapshot })).toThrow(message);
    expect(() => handler(broker, ["news", "feed"], { snapshot })).not.toThrow();
    // Topics of the request are known per request only.
    expect(() => handlerFunc(broker, () => "news", { snapshot })).not.toThrow();
  });
});
