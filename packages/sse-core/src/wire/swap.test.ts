import { cleanupAfterEach, listen, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import {
  EventBroker,
  fetchHandler,
  handler,
  hxPartial,
  SSEFieldError,
  SSEOptionError,
  type SwapOption,
} from "../index.js";
import { firstEvent, serveSwap } from "../testing/swap-server.js";

const cleanups = cleanupAfterEach();
/** The header htmx 4's hx-sse:connect sends (an EventSource cannot): a handler with swap answers it. */
const HTMX = { "HX-Request": "true" };

describe("swap: events htmx 4 swaps (unnamed messages)", () => {
  it("swap: true sends default-typed events unnamed and keeps explicitly typed ones named", async () => {
    const broker = new EventBroker();
    const server = await serveSwap(broker, { "/events": true }, cleanups);
    const client = rawClient(server.port, "/events", { headers: HTMX });
    cleanups.push(() => client.close());
    await waitFor(() => broker.stats().clients === 1, "subscribed");
    broker.publish("notes", { data: "<li>one</li>" });
    broker.publish("notes", { type: "close", data: "" });
    await waitFor(() => client.events.length === 2, "two events");
    expect(client.body).toBe("data: <li>one</li>\n\nevent: close\ndata: \n\n");
    expect(client.events.map((e) => e.event)).toEqual([undefined, "close"]);
  });

  it("a target map wraps each topic's events in an hx-partial with escaped attributes", async () => {
    const broker = new EventBroker();
    const server = await serveSwap(
      broker,
      {
        "/events": { notes: { target: "#notes", swap: "beforeend" }, status: 'div[data-x="a&b"]' },
      },
      cleanups,
    );
    const client = rawClient(server.port, "/events", { headers: HTMX });
    cleanups.push(() => client.close());
    await waitFor(() => broker.stats().clients === 1, "subscribed");
    broker.publish("notes", { data: "<li>a\nb</li>" });
    broker.publish("status", { data: "<b>up</b>", id: "7" });
    await waitFor(() => client.events.length === 2, "two events");
    expect(client.events[0]!.data).toBe(
      '<hx-partial hx-target="#notes" hx-swap="beforeend"><li>a\nb</li></hx-partial>',
    );
    expect(client.events[0]!.event).toBeUndefined();
    expect(client.events[1]).toMatchObject({
      id: "7",
      data: '<hx-partial hx-target="div[data-x=&quot;a&amp;b&quot;]"><b>up</b></hx-partial>',
    });
  });

  it("one broker serves an htmx 2 page (named) and an htmx 4 page (unnamed) the same event", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const server = await serveSwap(
      broker,
      { "/v2": undefined, "/v4": { notes: "#notes" } },
      cleanups,
    );
    const v2 = rawClient(server.port, "/v2");
    const v4 = rawClient(server.port, "/v4", { headers: HTMX });
    cleanups.push(
      () => v2.close(),
      () => v4.close(),
    );
    await waitFor(() => broker.stats().clients === 2, "both subscribed");
    for (let i = 0; i < 3; i++) broker.publish("notes", { data: `<li>${i}</li>` });
    await waitFor(() => v2.events.length === 3 && v4.events.length === 3, "all events");
    expect(v2.events.map((e) => [e.event, e.data])).toEqual(
      [0, 1, 2].map((i) => ["notes", `<li>${i}</li>`]),
    );
    expect(v4.events.map((e) => [e.event, e.data])).toEqual(
      [0, 1, 2].map((i) => [
        undefined,
        `<hx-partial hx-target="#notes"><li>${i}</li></hx-partial>`,
      ]),
    );
    // Same broker-assigned ids on both: one publish, two encodings.
    expect(v4.events.map((e) => e.id)).toEqual(v2.events.map((e) => e.id));
  });

  it("a resumed htmx 4 stream replays history in its own format", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const server = await serveSwap(broker, { "/v4": true }, cleanups);
    const first = rawClient(server.port, "/v4", { headers: HTMX });
    cleanups.push(() => first.close());
    await waitFor(() => broker.stats().clients === 1, "subscribed");
    broker.publish("notes", { data: "a" });
    await waitFor(() => first.events.length === 1, "first event");
    first.close();
    await waitFor(() => broker.stats().clients === 0, "left");
    broker.publish("notes", { data: "b" });
    broker.publish("status", { data: "c" });
    const back = rawClient(server.port, "/v4", {
      headers: { ...HTMX, "Last-Event-ID": first.events[0]!.id! },
    });
    cleanups.push(() => back.close());
    await waitFor(() => back.events.length === 2, "replay");
    expect(back.events.map((e) => [e.event, e.data])).toEqual([
      [undefined, "b"],
      [undefined, "c"],
    ]);
  });

  it("fetchHandler takes the same option", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const events = fetchHandler(broker, "notes", { swap: { notes: "#n" } });
    const response = await events(new Request("http://x/events", { headers: HTMX }));
    broker.publish("notes", { data: "x" });
    expect(await firstEvent(response)).toMatchObject({
      event: undefined,
      data: '<hx-partial hx-target="#n">x</hx-partial>',
    });
  });

  it("refuses a bad swap option when the handler is made, naming it", () => {
    const broker = new EventBroker();
    const bad: [unknown, RegExp][] = [
      [{ notes: "" }, /swap\.notes\.target: must be a non-empty CSS selector.*got ""/],
      [{ notes: { target: "#n", swap: 3 } }, /swap\.notes\.swap: .*got 3/],
      [{ notes: 5 }, /swap\.notes: must be a CSS selector or \{ target, swap \}, got 5/],
      ["yes", /swap: must be true, false or a map/],
      [["#a"], /swap: must be true, false or a map.*an array/],
    ];
    for (const [swap, message] of bad) {
      const err = (() => {
        try {
          handler(broker, "notes", { swap: swap as SwapOption });
        } catch (e) {
          return e;
        }
      })();
      expect(SSEOptionError.isInstance(err), String(swap)).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe("hxPartial", () => {
  it("wraps a fragment for a target, escaping the selector and swap style", () => {
    expect(hxPartial("<p>x</p>", "#a")).toBe('<hx-partial hx-target="#a"><p>x</p></hx-partial>');
    expect(hxPartial("y", { target: '"><script>', swap: "beforeend<" })).toBe(
      '<hx-partial hx-target="&quot;&gt;&lt;script&gt;" hx-swap="beforeend&lt;">y</hx-partial>',
    );
  });

  it("refuses an empty target with a typed error", () => {
    expect(() => hxPartial("x", "")).toThrow(SSEOptionError);
  });

  // htmx 4 rewrites every </hx-…> to </template> and parses the message as HTML.
  it.each([
    "</hx-partial>",
    "</HX-Partial>",
    "</hx-partial >",
    "</hx-partial\n>",
    "</hx-partial\t\r\f>",
    "</hx-partial/>",
    '</hx-partial x="y">',
    "</hx-oob>",
    "</template>",
    "</TEMPLATE >",
    "</hx-partial",
  ])("refuses a fragment holding %j, which would close its partial early", (end) => {
    const html = `<li>a${end}`;
    let err: unknown;
    try {
      hxPartial(html, "#notes");
    } catch (e) {
      err = e;
    }
    expect(SSEFieldError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ field: "data", value: html });
    expect((err as Error).message).toMatch(
      /^sse: data: holds ".+", an end tag that would close its <hx-partial> early .*Data is HTML the app must escape/,
    );
  });

  it("keeps escaped text and tags that only look alike", () => {
    for (const html of [
      "&lt;/hx-partial&gt;",
      "</hx-partial-x>",
      "<hx-partial>",
      "</hx>",
      "</templates>",
      "< /hx-partial>",
    ]) {
      expect(hxPartial(html, "#n")).toBe(`<hx-partial hx-target="#n">${html}</hx-partial>`);
    }
  });
});

describe("swap: snapshots", () => {
  it("a snapshot goes out as its own unnamed <hx-partial> (innerHTML), never inside the topic's wrapper; htmx 2 gets it named", async () => {
    const notes = ["<li>a</li>", "<li>b</li>"];
    const broker = new EventBroker({
      historySize: 1,
      topics: { notes: { snapshot: () => notes.join(""), target: "#notes" } },
    });
    const server = await serveSwap(
      broker,
      { "/events": { notes: { target: "#notes", swap: "beforeend" } }, "/named": undefined },
      cleanups,
    );
    broker.publish("notes", { data: "<li>a</li>" });
    broker.publish("notes", { data: "<li>b</li>" });
    const client = rawClient(server.port, "/events", {
      headers: { ...HTMX, "Last-Event-ID": "gone" },
    });
    cleanups.push(() => client.close());
    await waitFor(() => client.events.length === 1, "the snapshot");
    notes.push("<li>c</li>");
    broker.publish("notes", { data: "<li>c</li>" });
    await waitFor(() => client.events.length === 2, "a live event");
    expect(client.events.map((e) => [e.event, e.data])).toEqual([
      [
        undefined,
        '<hx-partial hx-target="#notes" hx-swap="innerHTML"><li>a</li><li>b</li></hx-partial>',
      ],
      [undefined, '<hx-partial hx-target="#notes" hx-swap="beforeend"><li>c</li></hx-partial>'],
    ]);
    // The same broker to an htmx 2 page (named events): the topic's own event type.
    const named = rawClient(server.port, "/named", { headers: { "Last-Event-ID": "gone" } });
    cleanups.push(() => named.close());
    await waitFor(() => named.events.length === 1, "the named snapshot");
    expect(named.events[0]).toMatchObject({
      event: "notes",
      data: '<hx-partial hx-target="#notes" hx-swap="innerHTML"><li>a</li><li>b</li><li>c</li></hx-partial>',
    });
  });
});

describe("snapshotOnConnect", () => {
  it("a connection without an id starts with its topics' snapshots and state; one with an id does not", async () => {
    const broker = new EventBroker({
      historySize: 4,
      topics: {
        notes: { snapshot: () => "<li>a</li>", target: "#notes" },
        status: { kind: "state" },
      },
    });
    const events = handler(broker, ["notes", "status"], { snapshotOnConnect: true });
    const server = await listen(events);
    cleanups.push(
      () => server.close(),
      () => broker.close(),
    );
    broker.publish("status", { data: "up" });
    broker.publish("notes", { data: "<li>a</li>" });
    const fresh = rawClient(server.port, "/");
    cleanups.push(() => fresh.close());
    await waitFor(() => fresh.events.length === 2, "snapshot and state");
    expect(fresh.events.map((e) => [e.event, e.data]).sort()).toEqual([
      ["notes", '<hx-partial hx-target="#notes" hx-swap="innerHTML"><li>a</li></hx-partial>'],
      ["status", "up"],
    ]);
    const cursor = (await broker.cursor())!;
    const resumed = rawClient(server.port, "/", { headers: { "Last-Event-ID": cursor } });
    cleanups.push(() => resumed.close());
    await waitFor(() => broker.stats().clients === 2, "the resumed client");
    broker.publish("notes", { data: "<li>b</li>" });
    await waitFor(() => resumed.events.length === 1, "live only");
    expect(resumed.events[0]!.data).toBe("<li>b</li>");
    expect(broker.stats().snapshots).toEqual({ miss: 0, restart: 0, overflow: 0, connect: 2 });
  });

  it("is a boolean", () => {
    expect(() => handler(new EventBroker(), "t", { snapshotOnConnect: "yes" } as never)).toThrow(
      /snapshotOnConnect: must be true or false/,
    );
  });
});
