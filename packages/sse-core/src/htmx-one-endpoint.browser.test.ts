import { readFileSync } from "node:fs";
import { cleanupAfterEach, waitFor } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { EventBroker, handler } from "./index.js";
import { type HtmxVersion, htmxPage } from "./testing/htmx-pages.js";
import { openSite, type Route, type Site, streams, texts } from "./testing/htmx-site.js";
import { capturedWarnings } from "./testing/swap-server.js";

// Issue #27, item 1: htmx 4 pointed at a handler without `swap` swapped
// nothing, silently. One handler now serves both versions from one endpoint,
// in Debian's Chromium with the real htmx 4.0.1 (hx-sse) and htmx 2.0.11
// with htmx-ext-sse 2.2.4, all from node_modules.
//
// What each sends (htmx 4.0.1's source: htmx.js #createCoreHeaders and
// ext/hx-sse.js htmx_config_request; checked below on the wire): htmx 4's
// hx-sse:connect is a fetch with `HX-Request: true` and `Accept: text/html,
// text/event-stream`, and swaps only unnamed messages (a named one becomes a
// DOM event on the element). htmx 2's EventSource sends
// `Accept: text/event-stream` and cannot add a header.

const cleanups = cleanupAfterEach();
const browser = chromiumPerFile();

/** The `html` code blocks of `markdown` between `from` and the next heading, in order. */
function htmlBlocks(markdown: string, from: string): string[] {
  const start = markdown.indexOf(from);
  expect(start).toBeGreaterThan(-1);
  const end = markdown.indexOf("\n#", start + from.length);
  const section = markdown.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```html\n([^`]+)```/g)].map((m) => m[1]!.trim());
}

/** Pages at `/v4`, `/v2`, … of `body` on `version` each, and `routes`, on one server. */
function site(
  broker: EventBroker,
  pages: Record<string, [body: string, version: HtmxVersion]>,
  routes: Record<string, Route>,
): Promise<Site> {
  const rendered = Object.fromEntries(
    Object.entries(pages).map(([path, [body, version]]) => [path, () => htmxPage(body, version)]),
  );
  return openSite(browser(), cleanups, broker, rendered, routes);
}

/** `page` of `s` opened at `path`. */
async function visit(s: Site, path: string, page?: Page): Promise<Page> {
  const opened = page ?? (await s.open());
  await opened.goto(`${s.server.url}${path}`);
  return opened;
}

const liTexts = (page: Page) => texts(page, "li");

describe.skipIf(!hasChromium)("one endpoint for htmx 4 and htmx 2, in Chromium", () => {
  it("the root README's 30 seconds as shown: a handler without swap, both pages on /events update live", async () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const thirty = readme.slice(readme.indexOf("## 30 seconds"));
    expect(thirty).toContain('const events = handler(broker, "notifications");\n');
    // The htmx 4 page is the example's own (in its js block); the htmx 2 one follows it.
    const v4 = /<ul hx-sse:connect="\/events"[^\n]*<\/ul>/.exec(thirty)?.[0];
    const [v2] = htmlBlocks(readme, "## 30 seconds");
    const warnings = capturedWarnings(cleanups);
    const broker = new EventBroker();
    const s = await site(
      broker,
      { "/v4": [v4!, 4], "/v2": [v2!, 2] },
      { "/events": handler(broker, "notifications") },
    );
    const page4 = await visit(s, "/v4", s.page);
    const page2 = await visit(s, "/v2");
    await waitFor(() => broker.stats().clients === 2, "both pages connected");
    for (const n of [1, 2, 3]) broker.publish("notifications", { data: `<li>${n}</li>` });
    for (const page of [page4, page2]) {
      await page.waitForFunction(() => document.querySelectorAll("li").length === 3);
      expect(await liTexts(page)).toEqual(["1", "2", "3"]);
    }
    // What each sent: htmx 4 names itself, an EventSource cannot.
    const [from4, from2] = streams(s, "/events").map((r) => r.headers);
    expect(from4).toMatchObject({ "hx-request": "true", accept: "text/html, text/event-stream" });
    expect(from2).toMatchObject({ accept: "text/event-stream" });
    expect(from2?.["hx-request"]).toBeUndefined();
    expect(s.errors).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("the core README's Usage pages as shown: one topic without swap, several with the map, htmx 2 on /events", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const [oneTopic, severalTopics, v2] = htmlBlocks(readme, "## Usage");
    expect(readme).toContain('with `handler(broker, "notifications")` at\n`/notifications`');
    const broker = new EventBroker();
    const s = await site(
      broker,
      { "/one": [oneTopic!, 4], "/several": [severalTopics!, 4], "/v2": [v2!, 2] },
      {
        "/notifications": handler(broker, "notifications"),
        // The README's `events` (examples/node-http.mjs): one endpoint for both pages.
        "/events": handler(broker, ["notifications", "status"], {
          swap: { notifications: { target: "#notes", swap: "beforeend" }, status: "#status" },
        }),
      },
    );
    const pages = [
      await visit(s, "/one", s.page),
      await visit(s, "/several"),
      await visit(s, "/v2"),
    ];
    await waitFor(() => broker.stats().clients === 3, "the three pages connected");
    broker.publish("notifications", { data: "<li>first</li>" });
    broker.publish("status", { data: "Status: up" });
    broker.publish("notifications", { data: "<li>second</li>" });
    for (const page of pages) {
      await page.waitForFunction(() => document.querySelectorAll("li").length === 2);
      expect(await liTexts(page)).toEqual(["first", "second"]);
    }
    for (const page of pages.slice(1)) {
      await page.waitForFunction(() => document.body.textContent?.includes("Status: up"));
    }
    expect(s.errors).toEqual([]);
  });

  it("several topics and no map: htmx 4 gets them all in the stream element, warned once per handler; htmx 2 swaps each", async () => {
    const warnings = capturedWarnings(cleanups);
    const broker = new EventBroker();
    const s = await site(
      broker,
      {
        "/v4": ['<ul id="feed" hx-sse:connect="/events" hx-swap="beforeend"></ul>', 4],
        "/v2": [
          '<div hx-ext="sse" sse-connect="/events"><ul id="notes" sse-swap="notes" hx-swap="beforeend"></ul>' +
            '<p id="status" sse-swap="status"></p></div>',
          2,
        ],
      },
      { "/events": handler(broker, ["notes", "status"]) },
    );
    const page4 = await visit(s, "/v4", s.page);
    const page2 = await visit(s, "/v2");
    await waitFor(() => broker.stats().clients === 2, "both pages connected");
    broker.publish("notes", { data: "<li>note</li>" });
    broker.publish("status", { data: "<li>online</li>" });
    await page4.waitForFunction(() => document.querySelectorAll("#feed li").length === 2);
    expect(await texts(page4, "#feed li")).toEqual(["note", "online"]);
    await page2.waitForFunction(() => document.querySelector("#status li") !== null);
    expect(await texts(page2, "#notes li")).toEqual(["note"]);
    // A second htmx 4 stream of the same handler: not warned again.
    await page4.reload();
    await waitFor(() => streams(s, "/events").length === 3, "the reloaded page connected");
    expect(warnings.map(([message, options]) => [String(message).slice(0, 52), options])).toEqual([
      [
        "sse: swap: an htmx 4 stream of topics notes, status,",
        { type: "SSEWarning", code: "SSE_SWAP_NO_TARGET" },
      ],
    ]);
    expect(s.errors).toEqual([]);
  });
  // Issue #27, item 1's leftover: a handler with a swap map sent its htmx 4
  // messages to every request, so an htmx 2 page needed another endpoint.
  it("a two-topic swap map on one endpoint: htmx 4 swaps each topic into its target, htmx 2 each named event", async () => {
    const warnings = capturedWarnings(cleanups);
    const broker = new EventBroker();
    const s = await site(
      broker,
      {
        "/v4": [
          '<div hx-sse:connect="/events"></div><ul id="notes"></ul><p id="status">unknown</p>',
          4,
        ],
        "/v2": [
          '<div hx-ext="sse" sse-connect="/events"><ul id="notes" sse-swap="notes" hx-swap="beforeend"></ul>' +
            '<p id="status" sse-swap="status">unknown</p></div>',
          2,
        ],
      },
      {
        "/events": handler(broker, ["notes", "status"], {
          swap: { notes: { target: "#notes", swap: "beforeend" }, status: "#status" },
        }),
      },
    );
    const page4 = await visit(s, "/v4", s.page);
    const page2 = await visit(s, "/v2");
    await waitFor(() => broker.stats().clients === 2, "both pages connected");
    // On the wire: htmx 4 names itself, htmx 2's EventSource cannot.
    expect(streams(s, "/events").map((r) => r.headers["hx-request"])).toEqual(["true", undefined]);
    broker.publish("notes", { data: "<li>first</li>" });
    broker.publish("status", { data: "<b>up</b>" });
    broker.publish("notes", { data: "<li>second</li>" });
    for (const page of [page4, page2]) {
      await page.waitForFunction(
        () =>
          document.querySelectorAll("#notes li").length === 2 &&
          document.querySelector("#status b") !== null,
      );
      expect(await texts(page, "#notes li")).toEqual(["first", "second"]);
      expect(await texts(page, "#status")).toEqual(["up"]);
    }
    expect(warnings).toEqual([]);
    expect(s.errors).toEqual([]);
  });
});
