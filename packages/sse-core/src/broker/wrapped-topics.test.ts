import { cleanupAfterEach, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, fetchHandler, hxPartial, SSEFieldError } from "../index.js";
import { capturedWarnings, firstEvent, serveSwap } from "../testing/swap-server.js";

const cleanups = cleanupAfterEach();
/** htmx 4's header: a handler with swap wraps only the streams of requests that carry it. */
const HTMX = { "HX-Request": "true" };

/** Data that, wrapped for #notes, would close its partial and swap the rest into #admin. */
const ESCAPING = '<li>a</hx-partial><hx-partial hx-target="#admin">b</li>';

/** The error `publish` throws, or undefined. */
function publishError(broker: EventBroker, topic: string, data: string): unknown {
  try {
    broker.publish(topic, { data });
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("publish refuses data that would escape a connected stream's <hx-partial>", () => {
  it("throws SSEFieldError to the publisher, once, before any client sees it", async () => {
    const broker = new EventBroker();
    const server = await serveSwap(
      broker,
      { "/v4": { notes: "#notes" }, "/v2": undefined },
      cleanups,
    );
    const v4 = rawClient(server.port, "/v4", { headers: HTMX });
    const v2 = rawClient(server.port, "/v2");
    cleanups.push(
      () => v4.close(),
      () => v2.close(),
    );
    await waitFor(() => broker.stats().clients === 2, "both subscribed");

    const err = publishError(broker, "notes", ESCAPING);
    expect(SSEFieldError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ field: "data", value: ESCAPING });
    expect((err as Error).message).toMatch(
      /^sse: data: holds "<\/hx-partial>", an end tag that would close the <hx-partial> that a handler's swap option wraps topic "notes" in early .*Data is HTML the app must escape/,
    );
    expect(broker.stats().published).toBe(0);

    broker.publish("notes", { data: "<li>ok</li>" });
    await waitFor(() => v4.events.length === 1 && v2.events.length === 1, "the next event");
    expect(v4.events[0]!.data).toBe('<hx-partial hx-target="#notes"><li>ok</li></hx-partial>');
    expect(v2.events[0]!.data).toBe("<li>ok</li>");
  });

  it("lets it through where nothing wraps it: another topic, an explicit type, swap: true", async () => {
    const broker = new EventBroker();
    const server = await serveSwap(broker, { "/map": { notes: "#notes" }, "/v4": true }, cleanups);
    const map = rawClient(server.port, "/map", { headers: HTMX });
    const v4 = rawClient(server.port, "/v4", { headers: HTMX });
    cleanups.push(
      () => map.close(),
      () => v4.close(),
    );
    await waitFor(() => broker.stats().clients === 2, "both subscribed");
    const composed = hxPartial("<li>a</li>", "#a") + hxPartial("<b>2</b>", "#count");
    expect(broker.publish("status", { data: composed })).toBe(2);
    expect(broker.publish("notes", { type: "refresh", data: ESCAPING })).toBe(2);
    await waitFor(() => v4.events.length === 2, "both events");
    expect(v4.events.map((e) => [e.event, e.data])).toEqual([
      [undefined, composed],
      ["refresh", ESCAPING],
    ]);
  });

  it("checks a topic only while a stream that wraps it is connected", async () => {
    const broker = new EventBroker();
    const server = await serveSwap(broker, { "/v4": { notes: "#notes" } }, cleanups);
    expect(publishError(broker, "notes", ESCAPING)).toBeUndefined();
    const one = rawClient(server.port, "/v4", { headers: HTMX });
    const two = rawClient(server.port, "/v4", { headers: HTMX });
    cleanups.push(
      () => one.close(),
      () => two.close(),
    );
    await waitFor(() => broker.stats().clients === 2, "both subscribed");
    one.close();
    await waitFor(() => broker.stats().clients === 1, "one left");
    expect(SSEFieldError.isInstance(publishError(broker, "notes", ESCAPING))).toBe(true);
    two.close();
    await waitFor(() => broker.stats().clients === 0, "both left");
    expect(publishError(broker, "notes", ESCAPING)).toBeUndefined();
  });

  it("fetchHandler's streams count too", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const events = fetchHandler(broker, "notes", { swap: { notes: "#n" } });
    const response = await events(new Request("http://x/events", { headers: HTMX }));
    expect(SSEFieldError.isInstance(publishError(broker, "notes", ESCAPING))).toBe(true);
    broker.publish("notes", { data: "x" });
    expect((await firstEvent(response)).data).toBe('<hx-partial hx-target="#n">x</hx-partial>');
  });

  it("an event that got past publish (replayed from history) goes out named, with one warning", async () => {
    const warnings = capturedWarnings(cleanups);
    const broker = new EventBroker({ historySize: 10 });
    const server = await serveSwap(broker, { "/v4": { notes: "#notes" } }, cleanups);
    const cursor = (await broker.cursor())!;
    broker.publish("notes", { data: ESCAPING }); // no stream wraps "notes" yet
    broker.publish("notes", { data: `${ESCAPING}2` });
    broker.publish("notes", { data: "<li>ok</li>" });
    const back = rawClient(server.port, "/v4", { headers: { ...HTMX, "Last-Event-ID": cursor } });
    cleanups.push(() => back.close());
    await waitFor(() => back.events.length === 3, "the replay");
    expect(back.events.map((e) => [e.event, e.data])).toEqual([
      ["notes", ESCAPING],
      ["notes", `${ESCAPING}2`],
      [undefined, '<hx-partial hx-target="#notes"><li>ok</li></hx-partial>'],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![0]).toMatch(/topic "notes" holds "<\/hx-partial>".*sent named/);
    expect(warnings[0]![1]).toMatchObject({ type: "SSEWarning", code: "SSE_DATA_UNWRAPPABLE" });
  });
});
