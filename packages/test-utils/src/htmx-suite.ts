/**
 * htmx 4 through a framework adapter, run by {@link describeAdapter} against
 * each: the `swap` option, and one handler serving both htmx versions (a
 * request with `HX-Request: true`, as htmx 4's `hx-sse:connect` sends, gets
 * unnamed messages; an `EventSource`, htmx 2's, named events).
 */
import { describe, expect, it } from "vitest";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import { suiteServing } from "./suite-serving.js";
import { waitFor } from "./waits.js";

/** The header htmx 4's requests carry, and an `EventSource` cannot. */
const HTMX = { "HX-Request": "true" };

/** Runs the htmx 4 cases against `harness`. */
export function describeHtmx<B extends SuiteBroker, Req, H>(
  name: string,
  harness: AdapterHarness<B, Req, H>,
): void {
  const { api, newBroker } = harness;

  describe(`${name}: htmx 4 messages`, () => {
    const { serve, ...served } = suiteServing(harness);

    /** An `EventSource` on `url` recording `types`, once open; `headers` with its requests. */
    async function watch(url: string, types: readonly string[], headers = {}) {
      const client = served.watch(url, types, headers);
      await client.opened;
      return client;
    }

    it("handler with swap sends htmx 4 (HX-Request) messages: unnamed, each topic wrapped for its target; an EventSource named events", async () => {
      const broker = newBroker();
      const url = await serve({
        get: {
          "/events": api.handler(broker, ["notes", "status"], {
            swap: { notes: { target: "#notes", swap: "beforeend" } },
          }),
        },
      });
      const client = await watch(`${url}/events`, ["message", "close"], HTMX);
      const plain = await watch(`${url}/events`, ["message", "notes", "status"]);
      await waitFor(() => broker.stats().clients === 2, "subscribed");
      broker.publish("notes", { data: "<li>n</li>" });
      broker.publish("status", { data: "<b>s</b>" });
      broker.publish("status", { type: "close", data: "" } as { data: string });
      await client.waitForCount(3);
      expect(client.events).toEqual([
        {
          event: "message",
          data: '<hx-partial hx-target="#notes" hx-swap="beforeend"><li>n</li></hx-partial>',
          id: "",
        },
        { event: "message", data: "<b>s</b>", id: "" },
        { event: "close", data: "", id: "" },
      ]);
      await plain.waitForCount(2);
      expect(plain.events.slice(0, 2)).toEqual([
        { event: "notes", data: "<li>n</li>", id: "" },
        { event: "status", data: "<b>s</b>", id: "" },
      ]);
      broker.close();
    });

    it("one handler without swap: htmx 4 (HX-Request) gets unnamed messages, an EventSource named events", async () => {
      const broker = newBroker();
      const url = await serve({
        use: api.middleware(broker),
        get: {
          "/events": api.handler(broker, "notes"),
          "/projects/:id/events": api.contextHandlerFunc(
            (req) => `project:${harness.param(req, "id")}`,
          ),
        },
      });
      const types = ["message", "notes", "project:7"];
      const v4 = await watch(`${url}/events`, types, HTMX);
      const v2 = await watch(`${url}/events`, types);
      const project4 = await watch(`${url}/projects/7/events`, types, HTMX);
      const project2 = await watch(`${url}/projects/7/events`, types);
      await waitFor(() => broker.stats().clients === 4, "all four subscribed");
      broker.publish("notes", { data: "<li>n</li>" });
      broker.publish("project:7", { data: "<b>p</b>" });
      await Promise.all([v4, v2, project4, project2].map((c) => c.waitForCount(1)));
      expect(v4.events).toEqual([{ event: "message", data: "<li>n</li>", id: "" }]);
      expect(v2.events).toEqual([{ event: "notes", data: "<li>n</li>", id: "" }]);
      expect(project4.events).toEqual([{ event: "message", data: "<b>p</b>", id: "" }]);
      expect(project2.events).toEqual([{ event: "project:7", data: "<b>p</b>", id: "" }]);
    });

    it("swap: false sends named events to htmx 4's requests too", async () => {
      const broker = newBroker();
      const url = await serve({
        get: { "/events": api.handler(broker, "notes", { swap: false }) },
      });
      const client = await watch(`${url}/events`, ["message", "notes"], HTMX);
      await waitFor(() => broker.stats().clients === 1, "subscribed");
      broker.publish("notes", { data: "x" });
      expect(await client.waitForCount(1)).toEqual([{ event: "notes", data: "x", id: "" }]);
    });
  });
}
