import { fileURLToPath } from "node:url";
import { cleanupAfterEach, startExample, waitFor } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import { describe, expect, it } from "vitest";
import { EventBroker, handler, streamHandler } from "./index.js";
import { htmxPage as html } from "./testing/htmx-pages.js";
import { openSite, type Route, streams, texts } from "./testing/htmx-site.js";

// The real htmx 4.0.1 `hx-sse` extension and htmx 2 with htmx-ext-sse, from
// node_modules, in Debian's Chromium, against core's own handlers.

const cleanups = cleanupAfterEach();
const browser = chromiumPerFile();

/** Serves `pages` and `routes` on one server, and opens a page (see {@link openSite}). */
const site = (
  broker: EventBroker,
  pages: Record<string, () => string | Promise<string>>,
  routes: Record<string, Route>,
) => openSite(browser(), cleanups, broker, pages, routes);

describe.skipIf(!hasChromium)("htmx 4 (hx-sse) and htmx 2 (htmx-ext-sse) in Chromium", () => {
  it("one stream, several topics: each lands in its own target through hx-partial", async () => {
    const broker = new EventBroker();
    const s = await site(
      broker,
      {
        "/": () =>
          html('<div hx-sse:connect="/events"></div><ul id="notes"></ul><p id="status">-</p>', 4),
      },
      {
        "/events": handler(broker, ["notes", "status"], {
          swap: { notes: { target: "#notes", swap: "beforeend" }, status: "#status" },
        }),
      },
    );
    await s.page.goto(s.server.url);
    await waitFor(() => broker.stats().clients === 1, "the page connected");
    broker.publish("notes", { data: "<li>first</li>" });
    broker.publish("status", { data: "<b>online</b>" });
    broker.publish("notes", { data: "<li>second</li>" });
    await s.page.waitForFunction(() => document.querySelectorAll("#notes li").length === 2);
    await s.page.waitForFunction(() => document.querySelector("#status b") !== null);
    expect(await texts(s.page, "#notes li")).toEqual(["first", "second"]);
    expect(await s.page.textContent("#status")).toBe("online");
    expect(s.errors).toEqual([]);
  });

  it("an htmx 2 page and an htmx 4 page on one broker both render every event", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const v2 = await site(
      broker,
      {
        "/": () =>
          html(
            '<div hx-ext="sse" sse-connect="/events"><ul id="notes" sse-swap="notes" hx-swap="beforeend"></ul></div>',
            2,
          ),
      },
      { "/events": handler(broker, "notes") },
    );
    const v4 = await site(
      broker,
      { "/": () => html('<ul id="notes" hx-sse:connect="/events" hx-swap="beforeend"></ul>', 4) },
      { "/events": handler(broker, "notes", { swap: true }) },
    );
    await v2.page.goto(v2.server.url);
    await v4.page.goto(v4.server.url);
    await waitFor(() => broker.stats().clients === 2, "both pages connected");
    for (const n of [1, 2, 3]) broker.publish("notes", { data: `<li>${n}</li>` });
    for (const s of [v2, v4]) {
      await s.page.waitForFunction(() => document.querySelectorAll("#notes li").length === 3);
      expect(await texts(s.page, "#notes li")).toEqual(["1", "2", "3"]);
    }
    expect([...v2.errors, ...v4.errors]).toEqual([]);
  });

  it("a named event triggers hx-get elsewhere: a resume miss reloads the list (resumeMissEvent)", async () => {
    const broker = new EventBroker({ historySize: 10, resumeMissEvent: "resync" });
    let reloads = 0;
    const s = await site(
      broker,
      {
        "/": () =>
          html(
            '<div id="feed" hx-sse:connect="/events?lastEventId=long-gone" hx-swap="beforeend"></div>' +
              '<ul id="notes" hx-get="/notes" hx-trigger="resync from:#feed"><li>stale</li></ul>',
            4,
          ),
        "/notes": () => `<li>reloaded ${++reloads}</li>`,
      },
      { "/events": handler(broker, "notes", { swap: true }) },
    );
    await s.page.goto(s.server.url);
    await s.page.waitForFunction(
      () => document.querySelector("#notes")?.textContent === "reloaded 1",
    );
    expect(broker.stats().resumeMisses).toBe(1);
    expect(await s.page.locator("#feed").innerHTML()).toBe("");
    expect(s.errors).toEqual([]);
  });

  it("a named close event with hx-sse:close stops the page for good: no reconnection", async () => {
    const broker = new EventBroker();
    const s = await site(
      broker,
      {
        "/": () =>
          html('<ul hx-sse:connect="/events" hx-sse:close="bye" hx-swap="beforeend"></ul>', 4),
      },
      { "/events": handler(broker, "notes", { swap: true }) },
    );
    await s.page.goto(s.server.url);
    await waitFor(() => broker.stats().clients === 1, "the page connected");
    broker.publish("notes", { data: "<li>last one</li>" });
    broker.publish("notes", { type: "bye" });
    await waitFor(() => broker.stats().clients === 0, "the page closed its stream");
    // htmx 4 would reconnect within 0.5 s ± 30 %: give it three times that.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(streams(s, "/events")).toHaveLength(1);
    expect(broker.stats().clients).toBe(0);
    expect(await texts(s.page, "li")).toEqual(["last one"]);
  });

  it("after a shutdown, a page whose server still listens backs off instead of retrying every 0.5 s", async () => {
    const broker = new EventBroker();
    const s = await site(
      broker,
      { "/": () => html('<ul hx-sse:connect="/events" hx-swap="beforeend"></ul>', 4) },
      { "/events": handler(broker, "notes", { swap: true }) },
    );
    await s.page.goto(s.server.url);
    await waitFor(() => broker.stats().clients === 1, "the page connected");
    broker.close();
    // An empty 200 stream would reset htmx 4's backoff: about 8 attempts in 4 s.
    // 503 doubles it: 0.5, 1 and 2 s (each ± 30 %), so at most 4 attempts.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const attempts = streams(s, "/events").length - 1;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(4);
  });

  it("hx-post streams a request's own progress, then its result, and is not repeated", async () => {
    const broker = new EventBroker();
    let step!: () => void;
    let steps = 0;
    const s = await site(
      broker,
      {
        "/": () =>
          html(
            '<button hx-post="/reports" hx-target="#report">Run</button><div id="report"></div>',
            4,
          ),
      },
      {
        "/reports": streamHandler(async (stream) => {
          for (const pct of [25, 50, 75]) {
            await stream.send({ data: `<progress value="${pct}" max="100"></progress>` });
            await new Promise<void>((resolve) => {
              steps++;
              step = resolve;
            });
          }
          await stream.send({ data: "<p>Report ready</p>" });
        }),
      },
    );
    await s.page.goto(s.server.url);
    await s.page.click("button");
    for (const pct of [25, 50, 75]) {
      await s.page.waitForSelector(`#report progress[value="${pct}"]`);
      await waitFor(() => steps === [25, 50, 75].indexOf(pct) + 1, "producer waits");
      step();
    }
    await s.page.waitForFunction(
      () => document.querySelector("#report")?.textContent === "Report ready",
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(streams(s, "/reports").map((r) => r.method)).toEqual(["POST"]);
    expect(s.errors).toEqual([]);
  });

  it("resume: a render-time cursor delivers what was published before the first connection; reconnects send Last-Event-ID, which wins", async () => {
    const broker = new EventBroker({ historySize: 50 });
    const events = handler(broker, "notes", { swap: true });
    let connections = 0;
    const s = await site(
      broker,
      {
        "/": async () => {
          const cursor = await broker.cursor();
          // Published after rendering, before the page's stream connects.
          broker.publish("notes", { data: "<li>while loading</li>" });
          return html(
            `<ul hx-sse:connect="/events?lastEventId=${encodeURIComponent(cursor!)}" hx-swap="beforeend"></ul>`,
            4,
          );
        },
      },
      {
        "/events": (req, res) => {
          connections++;
          events(req, res);
        },
      },
    );
    broker.publish("notes", { data: "<li>before the page</li>" });
    await s.page.goto(s.server.url);
    await waitFor(() => broker.stats().clients === 1, "the page connected");
    broker.publish("notes", { data: "<li>live 1</li>" });
    await s.page.waitForFunction(() => document.querySelectorAll("li").length === 2);
    // The server drops every stream (a deploy, a proxy timeout); events keep coming meanwhile.
    s.server.server.closeAllConnections();
    await waitFor(() => broker.stats().clients === 0, "the stream dropped");
    broker.publish("notes", { data: "<li>while away 1</li>" });
    broker.publish("notes", { data: "<li>while away 2</li>" });
    await waitFor(() => broker.stats().clients === 1, "htmx 4 reconnected");
    broker.publish("notes", { data: "<li>live 2</li>" });
    await s.page.waitForFunction(() => document.querySelectorAll("li").length === 5);
    expect(await texts(s.page, "li")).toEqual([
      "while loading",
      "live 1",
      "while away 1",
      "while away 2",
      "live 2",
    ]);
    const [first, second] = streams(s, "/events");
    expect(first?.lastEventId).toBeUndefined();
    // The reconnect carries the cursor in its URL too, but the header names a later event.
    expect(second?.url).toContain("lastEventId=");
    expect(second?.lastEventId).toMatch(/-\d+$/);
    expect(connections).toBe(2);
    expect(broker.stats()).toMatchObject({ resumed: 2, resumeMisses: 0 });
  });

  it("a background tab's stream is paused and, when the tab is visible again, misses nothing", async () => {
    const broker = new EventBroker({ historySize: 50 });
    const s = await site(
      broker,
      { "/": () => html('<ul hx-sse:connect="/events" hx-swap="beforeend"></ul>', 4) },
      { "/events": handler(broker, "notes", { swap: true }) },
    );
    await s.page.goto(s.server.url);
    await waitFor(() => broker.stats().clients === 1, "the page connected");
    broker.publish("notes", { data: "<li>1</li>" });
    await s.page.waitForFunction(() => document.querySelectorAll("li").length === 1);
    const setHidden = (hidden: boolean) =>
      s.page.evaluate((value) => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);
    await setHidden(true);
    await waitFor(() => broker.stats().clients === 0, "the hidden tab's stream was cancelled");
    broker.publish("notes", { data: "<li>2</li>" });
    broker.publish("notes", { data: "<li>3</li>" });
    await setHidden(false);
    await waitFor(() => broker.stats().clients === 1, "the visible tab reconnected");
    broker.publish("notes", { data: "<li>4</li>" });
    await s.page.waitForFunction(() => document.querySelectorAll("li").length === 4);
    expect(await texts(s.page, "li")).toEqual(["1", "2", "3", "4"]);
    expect(streams(s, "/events")[1]?.lastEventId).toMatch(/-\d+$/);
  });

  it("examples/htmx.mjs, the README's complete htmx 4 page, runs as shown", async () => {
    const { child, url } = await startExample(
      fileURLToPath(new URL("../examples/htmx.mjs", import.meta.url)),
    );
    cleanups.push(() => child.kill("SIGKILL"));
    const context = await browser().newContext();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("favicon")) errors.push(m.text());
    });
    await page.goto(url);
    await page.waitForFunction(() =>
      document.querySelector("#status")?.textContent?.includes("1 watching"),
    );
    await page.fill("input[name=text]", "<b>bold?</b>");
    await page.click("form button");
    await page.waitForFunction(() => document.querySelectorAll("#notes li").length === 1);
    expect(await page.textContent("#notes li")).toBe("<b>bold?</b>");
    await page.click("text=Run report");
    await page.waitForFunction(
      () => document.querySelector("#report")?.textContent === "Report ready",
    );
    expect(errors.filter((e) => !e.includes("404"))).toEqual([]);
  });
});
