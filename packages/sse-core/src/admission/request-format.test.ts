import { cleanupAfterEach, listen, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, fetchHandler, handler, SSEOptionError } from "../index.js";
import { capturedWarnings, firstEvent } from "../testing/swap-server.js";
import { frameOf } from "../wire/frame.js";
import { formatFor, swapPlanOf } from "./request-format.js";

// Issue 27, item 1: htmx 4 pointed at a handler without `swap` swapped
// nothing, silently (htmx 4 swaps only unnamed messages). A handler without
// `swap` now answers a request htmx sent (the `HX-Request: true` header,
// which htmx 4's hx-sse:connect sends and htmx 2's EventSource cannot) with
// unnamed messages, and any other request with named events.

const cleanups = cleanupAfterEach();
const warnings = () => capturedWarnings(cleanups);
/** The header htmx 4's hx-sse:connect sends (and an EventSource cannot). */
const HTMX = { "HX-Request": "true" };

function broker(): EventBroker {
  const b = new EventBroker();
  cleanups.push(() => b.close());
  return b;
}

describe("a request's format: htmx 4 (HX-Request) or an EventSource", () => {
  it("without swap: htmx's requests get unnamed messages, others named events", () => {
    const plan = swapPlanOf(undefined);
    expect(plan.otherFormat).toBeUndefined();
    expect(formatFor(plan, false, ["notes"])).toBeUndefined();
    expect(formatFor(plan, true, ["notes"])).toBe(plan.htmxFormat);
    const frame = frameOf("notes", { type: "notes", data: "<li>a</li>" }, 0);
    expect(new TextDecoder().decode(plan.htmxFormat!.bytes(frame))).toBe("data: <li>a</li>\n\n");
  });

  // Issue 27, item 1's leftover: a swap map applied to every request, so
  // htmx 2's EventSource got unnamed messages it cannot swap.
  it("an explicit swap applies to htmx's requests, others get named events; swap: false names every event", () => {
    for (const swap of [true, { notes: "#notes" }] as const) {
      const plan = swapPlanOf(swap);
      expect(plan.explicit).toBe(true);
      expect(formatFor(plan, false, ["notes"])).toBeUndefined();
      expect(formatFor(plan, true, ["notes"])).toBe(plan.htmxFormat);
      expect(plan.htmxFormat!.keys).toEqual(swap === true ? [] : ["notes"]);
    }
    const off = swapPlanOf(false);
    expect(off).toEqual({ htmxFormat: undefined, otherFormat: undefined, explicit: false });
    expect(formatFor(off, true, ["notes"])).toBeUndefined();
  });

  it("swapEveryRequest: swap's format for every request; refused with swap: false or a non-boolean", () => {
    for (const swap of [undefined, true, { notes: "#notes" }] as const) {
      const plan = swapPlanOf(swap, true);
      expect(formatFor(plan, false, ["notes"])).toBe(plan.htmxFormat);
      expect(formatFor(plan, true, ["notes"])).toBe(plan.htmxFormat);
    }
    expect(() => swapPlanOf(false, true)).toThrow(
      "sse: swapEveryRequest: sends htmx 4's messages to every request, but swap: false names every event",
    );
    expect(() => swapPlanOf(true, "yes" as never)).toThrow(
      /^sse: swapEveryRequest: must be true or false/,
    );
    expect(() => handler(broker(), "notes", { swap: false, swapEveryRequest: true })).toThrow(
      SSEOptionError,
    );
  });

  it("encodes an event once per format: every detecting handler shares its htmx 4 bytes", () => {
    const frame = frameOf("notes", { type: "notes", data: "x" }, 0);
    const one = swapPlanOf(undefined).htmxFormat!.bytes(frame);
    expect(swapPlanOf(undefined).htmxFormat!.bytes(frame)).toBe(one);
    expect(swapPlanOf(true).htmxFormat!.bytes(frame)).toBe(one);
  });

  it("several topics on an htmx 4 stream: warns once per handler, naming the map; one topic does not", () => {
    const seen = warnings();
    const plan = swapPlanOf(undefined);
    formatFor(plan, true, ["notes"]);
    formatFor(plan, false, ["notes", "status"]);
    expect(seen).toEqual([]);
    expect(formatFor(plan, true, ["notes", "status"])).toBe(plan.htmxFormat);
    formatFor(plan, true, ["notes", "status"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBe(
      "sse: swap: an htmx 4 stream of topics notes, status, from a handler without the swap " +
        "option: their events go out unnamed, as htmx 4 swaps them, all into the hx-sse:connect " +
        'element\'s own target. To give each topic its own target: swap: { notes: "#notes", ' +
        'status: "#status" } (htmx 2\'s EventSource still gets named events from the same handler), ' +
        "or swap: true if they share that target on purpose. (Warned once per handler.)",
    );
    expect(seen[0]![1]).toEqual({ type: "SSEWarning", code: "SSE_SWAP_NO_TARGET" });
    formatFor(swapPlanOf(undefined), true, ["project:1", "a b", "c", "d"]);
    expect(seen[1]![0]).toContain(
      'swap: { "project:1": "#project-1", "a b": "#a-b", c: "#c", … } (htmx 2',
    );
    formatFor(swapPlanOf(true), true, ["notes", "status"]);
    formatFor(swapPlanOf(false), true, ["notes", "status"]);
    expect(seen).toHaveLength(2);
  });

  it("refuses a swap that is neither true, false nor a map, naming the three", () => {
    expect(() => swapPlanOf("yes" as never)).toThrow(SSEOptionError);
    expect(() => swapPlanOf("yes" as never)).toThrow(/^sse: swap: must be true, false or a map/);
  });
});

describe("one handler without swap serves htmx 4 and an EventSource", () => {
  it("node:http: unnamed messages with HX-Request, named events without, from one endpoint", async () => {
    const b = broker();
    const server = await listen(handler(b, "notes"));
    cleanups.push(() => server.close());
    const v4 = rawClient(server.port, "/", { headers: HTMX });
    const v2 = rawClient(server.port, "/");
    cleanups.push(
      () => v4.close(),
      () => v2.close(),
    );
    await waitFor(() => b.stats().clients === 2, "both subscribed");
    b.publish("notes", { data: "<li>a</li>" });
    b.publish("notes", { type: "bye", data: "" });
    await waitFor(() => v4.events.length === 2 && v2.events.length === 2, "both events");
    expect(v4.body).toBe("data: <li>a</li>\n\nevent: bye\ndata: \n\n");
    expect(v2.body).toBe("event: notes\ndata: <li>a</li>\n\nevent: bye\ndata: \n\n");
  });

  it("fetchHandler and a topic function: the same, per request", async () => {
    const b = broker();
    const events = fetchHandler(b, (req) => new URL(req.url).searchParams.get("t") ?? "notes");
    const v4 = await events(new Request("http://x/?t=notes", { headers: HTMX }));
    const v2 = await events(new Request("http://x/?t=notes"));
    b.publish("notes", { data: "x" });
    expect(await firstEvent(v4)).toMatchObject({ event: undefined, data: "x" });
    expect(await firstEvent(v2)).toMatchObject({ event: "notes", data: "x" });
  });

  it("a swap map: wrapped messages with HX-Request, named events without; swapEveryRequest wraps both", async () => {
    const b = broker();
    const swap = { notes: "#notes", status: "#status" };
    const perRequest = handler(b, ["notes", "status"], { swap });
    const every = handler(b, ["notes", "status"], { swap, swapEveryRequest: true });
    const server = await listen((req, res) =>
      (req.url === "/every" ? every : perRequest)(req, res),
    );
    cleanups.push(() => server.close());
    const clients = [
      rawClient(server.port, "/", { headers: HTMX }),
      rawClient(server.port, "/"),
      rawClient(server.port, "/every"),
    ];
    for (const client of clients) cleanups.push(() => client.close());
    await waitFor(() => b.stats().clients === 3, "all subscribed");
    b.publish("status", { data: "up" });
    await waitFor(() => clients.every((c) => c.events.length === 1), "the event");
    expect(clients.map((c) => c.body)).toEqual([
      'data: <hx-partial hx-target="#status">up</hx-partial>\n\n',
      "event: status\ndata: up\n\n",
      'data: <hx-partial hx-target="#status">up</hx-partial>\n\n',
    ]);
  });

  it("swap: false sends named events to htmx's requests too", async () => {
    const b = broker();
    const events = fetchHandler(b, "notes", { swap: false });
    const response = await events(new Request("http://x/", { headers: HTMX }));
    b.publish("notes", { data: "x" });
    expect(await firstEvent(response)).toMatchObject({ event: "notes", data: "x" });
  });

  it("a topic function's stream of several topics warns once; one of one topic does not", async () => {
    const seen = warnings();
    const b = broker();
    const events = fetchHandler(b, (req) => new URL(req.url).searchParams.getAll("t"));
    const open = async (query: string) => {
      const response = await events(new Request(`http://x/?${query}`, { headers: HTMX }));
      expect(response.status).toBe(200);
      await response.body!.cancel();
    };
    await open("t=notes");
    expect(seen).toEqual([]);
    await open("t=notes&t=status");
    await open("t=a&t=b");
    expect(seen.map((w) => (w[1] as { code: string }).code)).toEqual(["SSE_SWAP_NO_TARGET"]);
  });
});
