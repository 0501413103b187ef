/**
 * Snapshots per request through a framework adapter (the handler option
 * `snapshot`), run by {@link describeAdapter} against each: the region is
 * rendered from the framework's own request (express `req`, koa `ctx`,
 * fastify `request`, whose headers the harness reads), for that stream
 * alone, and a failing one is counted and reaches nothing of the
 * framework's error handling.
 */
import { describe, expect, it, vi } from "vitest";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import { type RawClient, rawClient } from "./clients.js";
import { cleanupAfterEach, type TestServer } from "./server.js";
import { blockStream, readUntil } from "./slow-client.js";
import { thrownBy, waitFor } from "./waits.js";

/** What the suite uses of core's `EventBroker` beyond {@link SuiteBroker}. */
interface SnapshotBroker extends SuiteBroker {
  publish(topic: string, event: { data: string }): number;
  stats(): {
    clients: number;
    topics: number;
    dropped: number;
    snapshots: Record<"miss" | "restart" | "overflow" | "connect", number>;
    snapshotFailures: number;
  };
}

type Policy = { target: string; snapshot?: () => string; snapshotTimeoutMs?: number };
type BrokerClass = new (options: {
  bufferSize?: number;
  historySize?: number;
  topics?: Record<string, Policy>;
}) => SnapshotBroker;

const partial = (html: string) =>
  `<hx-partial hx-target="#feed" hx-swap="innerHTML">${html}</hx-partial>`;

/** Runs the snapshot cases against `harness`. */
export function describeSnapshots<B extends SuiteBroker, Req, H>(
  name: string,
  harness: AdapterHarness<B, Req, H>,
): void {
  const api = harness.api as unknown as AdapterHarness<SnapshotBroker, Req, H>["api"];
  const user = (req: Req) => harness.header(req, "x-user") ?? "nobody";
  /** The feed as each user's page renders it. */
  const own = (_topic: string, req: Req) => `<li>${user(req)}'s feed</li>`;

  describe(`${name}: snapshots per request (the snapshot option)`, () => {
    // Newest first: clients close, then the server; nothing may have reached error handling.
    const cleanups = cleanupAfterEach();

    /** The adapter's own copy of core's EventBroker, with `options`. */
    function newBroker(options: ConstructorParameters<BrokerClass>[0]): SnapshotBroker {
      const Broker = harness.newBroker().constructor as unknown as BrokerClass;
      return new Broker(options);
    }

    async function serve(get: Record<string, H>, use?: H): Promise<TestServer> {
      const { server, errors } = await harness.serve({ get, use });
      cleanups.push(
        () => expect(errors).toEqual([]),
        () => server.close(),
      );
      return server;
    }

    /** A client of `who` (the `x-user` header), parsed by eventsource-parser. */
    function connect(server: TestServer, path: string, who: string, read = true): RawClient {
      const client = rawClient(server.port, path, { headers: { "x-user": who }, read });
      cleanups.push(() => client.close());
      return client;
    }

    const feedOf = (client: RawClient) =>
      client.events.filter((e) => e.event === "feed").map((e) => e.data);

    it("two users resuming past history each get the feed rendered from their own request; undefined: the topic's own", async () => {
      const shared = vi.fn(() => "<li>everyone's feed</li>");
      const broker = newBroker({
        historySize: 1,
        topics: { feed: { snapshot: shared, target: "#feed" } },
      });
      const snapshot = vi.fn((topic: string, req: Req) =>
        user(req) === "guest" ? undefined : own(topic, req),
      );
      const server = await serve({ "/events": api.handler(broker, "feed", { snapshot }) });
      const [ann, bob, guest] = ["ann", "bob", "guest"].map((who) =>
        connect(server, "/events?lastEventId=gone", who),
      );
      await waitFor(() => [ann, bob, guest].every((c) => c!.events.length === 1), "3 snapshots");
      expect([ann, bob, guest].map((c) => feedOf(c!))).toEqual([
        [partial("<li>ann's feed</li>")],
        [partial("<li>bob's feed</li>")],
        [partial("<li>everyone's feed</li>")],
      ]);
      expect(snapshot).toHaveBeenCalledTimes(3);
      expect(shared).toHaveBeenCalledTimes(1);
      expect(broker.stats().snapshots.miss).toBe(3);
      broker.close();
    });

    it("two users whose buffers overflowed each get their own once they read again (contextHandlerFunc)", async () => {
      const broker = newBroker({ bufferSize: 4, topics: { feed: { target: "#feed" } } });
      const server = await serve(
        {
          "/projects/:id/events": api.contextHandlerFunc(
            (req) => ["feed", `bulk:${harness.param(req, "id")}:${user(req)}`],
            { snapshot: own, keepaliveMs: 0 },
          ),
        },
        api.middleware(broker),
      );
      const ann = connect(server, "/projects/1/events", "ann", false);
      const bob = connect(server, "/projects/1/events", "bob", false);
      await waitFor(() => broker.stats().clients === 2, "both subscribed");
      await blockStream(broker, "bulk:1:ann");
      await blockStream(broker, "bulk:1:bob");
      broker.publish("feed", { data: "<li>new</li>" }); // dropped for both: a snapshot instead
      await readUntil(broker, "bulk:1:ann", ann, "ann reads");
      await readUntil(broker, "bulk:1:bob", bob, "bob reads");
      await waitFor(() => feedOf(ann).length + feedOf(bob).length === 2, "both snapshots");
      expect([feedOf(ann), feedOf(bob)]).toEqual([
        [partial("<li>ann's feed</li>")],
        [partial("<li>bob's feed</li>")],
      ]);
      expect(broker.stats().snapshots.overflow).toBe(2);
      broker.close();
    });

    it("one that throws is counted, nothing reaches error handling, and the stream goes on (handlerFunc)", async () => {
      const broker = newBroker({ historySize: 1, topics: { feed: { target: "#feed" } } });
      const snapshot = vi.fn(() => {
        throw new Error("db down");
      });
      const server = await serve({
        "/events": api.handlerFunc(broker, () => "feed", { snapshot }),
      });
      const ann = connect(server, "/events?lastEventId=gone", "ann");
      await waitFor(() => broker.stats().snapshotFailures === 1, "the render to fail");
      broker.publish("feed", { data: "<li>after</li>" });
      await waitFor(() => ann.events.length === 1, "the next event");
      expect(feedOf(ann)).toEqual(["<li>after</li>"]);
      expect(snapshot).toHaveBeenCalledTimes(1);
      broker.close();
    });

    it("a handler of fixed topics none of which has a target is refused at creation, naming snapshot", () => {
      const broker = newBroker({});
      const err = thrownBy(() => api.handler(broker, "news", { snapshot: own }));
      expect(err).toMatchObject({ name: "SSEOptionError", option: "snapshot" });
      broker.close();
    });
  });
}
