import type { IncomingMessage, ServerResponse } from "node:http";
import { setImmediate as nextTick } from "node:timers/promises";
import { cleanupAfterEach, listen, type TestServer, waitFor } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import type { CDPSession, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { type BrokerOptions, EventBroker, type HandlerOptions, handler } from "../index.js";
import { type HtmxVersion, htmxPage, serveStatic } from "../testing/htmx-pages.js";

// Issue #25 in Debian's Chromium, with the real htmx 4.0.1 (hx-sse, the
// handler's `swap` map) and htmx 2.0.11 with htmx-ext-sse 2.2.4 (named
// events, `sse-swap`): a page that falls behind (a tab away for longer than
// history, a restart of an in-memory server, a client throttled during a
// burst) ends at what a fresh load of it shows, with no script of its own.
// Every wait is on a DOM or server condition; the browser reconnects after
// the `retry:` each event carries.

const HISTORY = 5;
/** Sent with every event: how long a browser waits before reconnecting (htmx 4 doubles it on failures). */
const RETRY_MS = 200;
const WAIT = { timeout: 20_000, interval: 50 };
const VERSIONS: readonly HtmxVersion[] = [4, 2];

const cleanups = cleanupAfterEach();
const browser = chromiumPerFile();

/** The app's truth: a list of notes and a status line, rendered as the page renders them. */
class NotesApp {
  readonly notes: string[] = [];
  status = "starting";
  /** Bytes of hidden padding in the status line (a burst's large events). */
  pad = 0;

  renderNotes(): string {
    return this.notes.map((note) => `<li>${note}</li>`).join("");
  }

  renderStatus(): string {
    const pad = this.pad === 0 ? "" : `<span hidden>${"x".repeat(this.pad)}</span>`;
    return `<b>${this.status}</b>${pad}`;
  }

  /** The page: htmx 4 swaps both regions from one stream by `<hx-partial>`, htmx 2 by named event. */
  page(version: HtmxVersion): string {
    const notes = this.renderNotes();
    const status = this.renderStatus();
    return htmxPage(
      version === 4
        ? `<div hx-sse:connect="/events"></div><ul id="notes">${notes}</ul><p id="status">${status}</p>`
        : '<div hx-ext="sse" sse-connect="/events">' +
            `<ul id="notes" sse-swap="notes" hx-swap="beforeend">${notes}</ul>` +
            `<p id="status" sse-swap="status">${status}</p></div>`,
      version,
    );
  }
}

/** The handler options of each page: htmx 4's live appends and status through the `swap` map. */
const STREAM_OPTIONS: Record<HtmxVersion, HandlerOptions> = {
  4: { swap: { notes: { target: "#notes", swap: "beforeend" }, status: "#status" } },
  2: {},
};

interface SiteOptions {
  version: HtmxVersion;
  /** Declare the topics (`notes` with its snapshot, `status` a state topic); false: the seed's broker. */
  topics: boolean;
  bufferSize?: number;
}

/** A stream request as the server saw it. */
interface StreamRequest {
  lastEventId: string | undefined;
}

/**
 * The app on a node:http server on 127.0.0.1: the page at `/`, its stream at
 * `/events` on the current broker. A restart replaces server and broker
 * (same port, same app state); the app's changes publish to the current one.
 */
class Site {
  readonly app = new NotesApp();
  /** Every request for the stream, in order. */
  readonly streams: StreamRequest[] = [];
  broker!: EventBroker;
  private events!: ReturnType<typeof handler>;
  private server!: TestServer;

  constructor(private readonly options: SiteOptions) {}

  get url(): string {
    return this.server.url;
  }

  async start(port = 0): Promise<void> {
    const { version, topics, bufferSize } = this.options;
    const app = this.app;
    const brokerOptions: BrokerOptions = { historySize: HISTORY, bufferSize };
    if (topics) {
      brokerOptions.topics = {
        notes: { snapshot: () => app.renderNotes(), target: "#notes" },
        // After a restart the broker knows no latest status: the snapshot renders it.
        status: { kind: "state", snapshot: () => app.renderStatus(), target: "#status" },
      };
    }
    this.broker = new EventBroker(brokerOptions);
    this.events = handler(this.broker, ["notes", "status"], STREAM_OPTIONS[version]);
    this.server = await listen((req, res) => this.serve(req, res), port);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0]!;
    if (serveStatic(path, res)) return;
    if (path === "/") {
      res
        .writeHead(200, { "Content-Type": "text/html; charset=utf-8" })
        .end(this.app.page(this.options.version));
      return;
    }
    if (path !== "/events") return void res.writeHead(404).end();
    this.streams.push({ lastEventId: req.headers["last-event-id"] as string | undefined });
    void this.events(req, res);
  }

  addNote(note: string): void {
    this.app.notes.push(note);
    this.broker.publish("notes", { data: `<li>${note}</li>`, retry: RETRY_MS });
  }

  setStatus(status: string, pad = 0): void {
    this.app.status = status;
    this.app.pad = pad;
    this.broker.publish("status", { data: this.app.renderStatus(), retry: RETRY_MS });
  }

  /** Drops every connection server-side (a proxy timeout, a network change): the browser reconnects. */
  cut(): void {
    this.server.server.closeAllConnections();
  }

  /** Waits until the broker holds exactly one stream, its `opened`-th since it started. */
  async connected(opened: number): Promise<void> {
    await waitFor(
      () => this.broker.stats().opened === opened && this.broker.stats().clients === 1,
      `stream ${opened} of the page connected`,
    );
  }

  /**
   * An in-memory server restarts: server and broker close (history gone),
   * `whileDown` runs (changes the app's stored state, waits for the browser
   * to find the port closed), and a new broker (a new epoch) and server
   * start on the same port, with the app's state as it is.
   */
  async restart(whileDown: () => Promise<void>): Promise<void> {
    const port = this.server.port;
    await this.close();
    await whileDown();
    await this.start(port);
  }

  async close(): Promise<void> {
    await this.server.close();
    this.broker.close();
  }
}

/**
 * Each region's HTML as the page shows it now: long padding abbreviated, and
 * htmx's settling classes (`htmx-added`, for a moment) and the empty class
 * attributes they leave out.
 */
function regions(page: Page): Promise<{ notes: string; status: string }> {
  return page.evaluate(() => {
    const read = (id: string) =>
      (document.getElementById(id)?.innerHTML ?? "(missing)")
        .replace(/ class="(?:htmx-[\w-]+ ?)*"/g, "")
        .replace(/x{100,}/g, (run) => `x*${run.length}`);
    return { notes: read("notes"), status: read("status") };
  });
}

/** The regions a fresh load of the page shows: its HTML as served, with scripts off. */
async function freshRegions(site: Site): Promise<{ notes: string; status: string }> {
  const context = await browser().newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(site.url);
    return await regions(page);
  } finally {
    await context.close();
  }
}

/** Starts a site and opens its page; the page's uncaught errors land in `errors`. */
async function open(options: SiteOptions): Promise<{ site: Site; page: Page; errors: string[] }> {
  const site = new Site(options);
  await site.start();
  cleanups.push(() => site.close());
  const context = await browser().newContext();
  cleanups.push(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  site.setStatus("online");
  site.addNote("before 1");
  await page.goto(site.url);
  await site.connected(1);
  site.addNote("before 2");
  await page.waitForFunction(() => document.querySelectorAll("#notes li").length === 2);
  return { site, page, errors };
}

/** Waits until the page shows the note `note` (live events reach it again). */
function shows(page: Page, note: string): Promise<unknown> {
  return page.waitForFunction(
    (text) =>
      Array.from(document.querySelectorAll("#notes li"), (li) => li.textContent).includes(text),
    note,
    WAIT,
  );
}

async function expectConverged(site: Site, page: Page): Promise<void> {
  const truth = await freshRegions(site);
  await expect.poll(() => regions(page), WAIT).toEqual(truth);
}

/** Waits until the page's stream fails to reconnect to a closed port (a server that is down). */
function refused(page: Page): Promise<unknown> {
  return page.waitForEvent("requestfailed", {
    predicate: (request) =>
      request.url().endsWith("/events") &&
      request.failure()?.errorText === "net::ERR_CONNECTION_REFUSED",
    ...WAIT,
  });
}

/**
 * The tab is away for longer than history: its stream is cut, and twice
 * history's worth of notes and a new status are published before it can
 * reconnect (in the same tick). It reconnects with its Last-Event-ID, long
 * evicted; then one more note is published live.
 */
async function awayLongerThanHistory(site: Site, page: Page): Promise<void> {
  site.cut();
  for (let i = 1; i <= 2 * HISTORY; i++) site.addNote(`away ${i}`);
  site.setStatus("busy");
  await site.connected(2);
  site.addNote("after");
  await shows(page, "after");
}

for (const version of VERSIONS) {
  describe.skipIf(!hasChromium)(`convergence in Chromium, htmx ${version}`, () => {
    it("a tab away for longer than history ends at a fresh render (a snapshot, reason miss)", async () => {
      const { site, page, errors } = await open({ version, topics: true });
      await awayLongerThanHistory(site, page);
      await expectConverged(site, page);
      expect(site.streams[1]?.lastEventId).toMatch(/-\d+$/);
      // The status's latest event is replayed from history; the notes get a snapshot.
      expect(site.broker.stats()).toMatchObject({ snapshots: { miss: 1 }, resumeMisses: 1 });
      expect(errors).toEqual([]);
    });

    it("control: without the topics option, the same tab stays behind a fresh render", async () => {
      const { site, page } = await open({ version, topics: false });
      await awayLongerThanHistory(site, page);
      const truth = await freshRegions(site);
      const shown = await regions(page);
      expect(shown).not.toEqual(truth);
      // The notes published while away and the new status never reached it.
      expect(shown.notes).toBe("<li>before 1</li><li>before 2</li><li>after</li>");
      expect(shown.status).toBe("<b>online</b>");
      expect(truth.notes).toContain("<li>away 1</li>");
      expect(site.broker.stats()).toMatchObject({ resumeMisses: 1, snapshots: { miss: 0 } });
    });

    it("a restart of an in-memory server: the old-epoch id gets a snapshot (reason restart)", async () => {
      const { site, page, errors } = await open({ version, topics: true });
      const before = site.streams.length;
      await site.restart(async () => {
        // Stored by the app (in its database, say) while the server was down.
        site.app.notes.push("while down 1", "while down 2");
        await refused(page);
      });
      await site.connected(1);
      expect(site.streams[before]?.lastEventId).toMatch(/-\d+$/);
      site.addNote("after");
      await shows(page, "after");
      await expectConverged(site, page);
      // The notes and the status (which the restarted broker knows only from its snapshot).
      expect(site.broker.stats().snapshots.restart).toBe(2);
      expect(errors).toEqual([]);
    });

    it("a status changed while an in-memory server was down: the restarted broker renders it (a state topic's snapshot)", async () => {
      const { site, page, errors } = await open({ version, topics: true });
      await site.restart(async () => {
        site.app.status = "maintenance";
        await refused(page);
      });
      await site.connected(1);
      site.addNote("after");
      await shows(page, "after");
      await expectConverged(site, page);
      expect((await regions(page)).status).toBe("<b>maintenance</b>");
      expect(errors).toEqual([]);
    });

    it("a client throttled to a trickle during a burst, then released, ends at a fresh render", async () => {
      const { site, page, errors } = await open({ version, topics: true, bufferSize: 4 });
      const cdp: CDPSession = await page.context().newCDPSession(page);
      const throttle = (downloadThroughput: number) =>
        cdp.send("Network.emulateNetworkConditions", {
          offline: false,
          latency: 0,
          downloadThroughput,
          uploadThroughput: -1,
        });
      // Chromium throttles requests started after it is turned on: the stream reconnects under it.
      await throttle(1024);
      site.cut();
      await site.connected(2);
      // About 10 MB in separate ticks, far past what the socket and Chromium buffer (about 4 MB):
      // the broker's buffer of 4 overflows on notes and conflates the status.
      for (let i = 1; i <= 160; i++) {
        site.setStatus(`burst ${i}`, 64 * 1024);
        if (i % 4 === 0) site.addNote(`burst ${i}`);
        await nextTick();
      }
      await waitFor(() => site.broker.stats().conflated > 0, "the burst backed up");
      await throttle(-1);
      site.addNote("after");
      await shows(page, "after");
      await expectConverged(site, page);
      const stats = site.broker.stats();
      expect(stats.snapshots.overflow).toBeGreaterThanOrEqual(1);
      expect(stats.conflated).toBeGreaterThan(0);
      expect(stats.dropped).toBe(0);
      expect(errors).toEqual([]);
    });
  });
}
