/**
 * Presence and lifecycle hooks through a framework adapter, run by
 * {@link describeAdapter} against each: the member comes from the
 * framework's request (express `req`, koa `ctx`, fastify `request`), and a
 * topic's presence is refused to a client `authorize` refuses on the topic.
 */
import { describe, expect, it } from "vitest";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import type { RecordingEventSource } from "./clients.js";
import { suiteServing } from "./suite-serving.js";
import { waitFor } from "./waits.js";

/** What the suite uses of core's `EventBroker` beyond {@link SuiteBroker}. */
interface PresenceBroker extends SuiteBroker {
  members(topic: string): Promise<{ id: string; data: unknown; connections: number }[]>;
  observe(hooks: {
    refused?(reason: string, error: { status: number }): void;
    closed?(client: unknown, reason: string): void;
  }): () => void;
  stats(): { clients: number; topics: number; members: number };
}

type PresenceChange = {
  joined: { id: string }[];
  left: { id: string }[];
  members: { id: string }[];
};
type BrokerClass = new (options: {
  presence: { render(change: PresenceChange): string; debounceMs: number };
}) => PresenceBroker;

/** Runs the presence cases against `harness`. */
export function describePresence<B extends SuiteBroker, Req, H>(
  name: string,
  harness: AdapterHarness<B, Req, H>,
): void {
  describe(`${name}: presence and lifecycle hooks`, () => {
    const served = suiteServing(harness);
    const watch = (url: string, type: string, user: string): RecordingEventSource =>
      served.watch(url, [type], { "x-user": user });

    it("takes each stream's member from the framework's request; presence is refused to whom the topic is", async () => {
      // The adapter's own copy of core's EventBroker, with presence events on.
      const Broker = harness.newBroker().constructor as unknown as BrokerClass;
      const broker = new Broker({
        presence: {
          render: ({ joined, left, members }) =>
            `${members.map((m) => m.id).join(",")}|+${joined.map((m) => m.id)}|-${left.map((m) => m.id)}`,
          debounceMs: 0,
        },
      });
      const refused: string[] = [];
      const closed: string[] = [];
      broker.observe({
        refused: (reason, { status }) => refused.push(`${reason} ${status}`),
        closed: (_client, reason) => closed.push(reason),
      });
      const user = (req: Req) => harness.header(req, "x-user");
      const options = {
        keepaliveMs: 0,
        authorize: (req: Req, topics: readonly string[]) =>
          user(req) !== "mallory" || !topics.includes("project:42"),
        presence: (req: Req) => {
          const id = user(req);
          return id === undefined ? undefined : { id, data: { name: id.toUpperCase() } };
        },
      };
      const api = harness.api as unknown as AdapterHarness<PresenceBroker, Req, H>["api"];
      const url = await served.serve({
        get: {
          "/projects/:id/events": api.handlerFunc(
            broker,
            (req) => `project:${harness.param(req, "id")}`,
            options,
          ),
          "/projects/:id/presence": api.handlerFunc(
            broker,
            (req) => `presence:project:${harness.param(req, "id")}`,
            options,
          ),
        },
      });
      const denied = await fetch(`${url}/projects/42/presence`, {
        headers: { "x-user": "mallory" },
      });
      expect(denied.status).toBe(403);
      expect(refused).toEqual(["authorize 403"]);

      const viewing = watch(`${url}/projects/42/presence`, "presence:project:42", "carol");
      await viewing.opened;
      const bob = watch(`${url}/projects/42/events`, "project:42", "bob");
      await viewing.waitForCount(1);
      expect(await broker.members("project:42")).toEqual([
        { id: "bob", data: { name: "BOB" }, connections: 1 },
      ]);
      bob.close();
      await viewing.waitForCount(2);
      expect(viewing.events.map((e) => e.data)).toEqual(["bob|+bob|-", "|+|-bob"]);
      expect(broker.stats().members).toBe(0);
      await waitFor(() => closed.length === 1, "bob's stream closed");
      expect(closed).toEqual(["client"]);
      broker.close();
    });
  });
}
