// The convergence tests' site in Chromium (not published: tsup bundles the
// entry points only): the app's truth (notes, a log topic with a snapshot;
// a status, a state topic), served by node:http with a page for htmx 4 or
// htmx 2 and its stream, and the page's regions read back to compare with a
// fresh load. Every wait is on a DOM or server condition; the browser
// reconnects after the `retry:` each event carries.
import type { IncomingMessage, ServerResponse } from "node:http";
import { listen, type TestServer, waitFor } from "@burrow/test-utils";
import type { Browser, Page } from "playwright-core";
import { expect } from "vitest";
import { type BrokerOptions, EventBroker, type HandlerOptions, handler } from "../index.js";
import { type HtmxVersion, htmxPage, serveStatic } from "./htmx-pages.js";

/** The broker's history size unless a site asks for another. */
export const HISTORY = 5;
/** Sent with every event: how long a browser waits before reconnecting (htmx 4 doubles it on failures). */
export const RETRY_MS = 200;
/** How long a wait on the page may take before it fails (it guards against a hang only). */
export const WAIT = { timeout: 20_000, interval: 50 };
/** The htmx versions the pages are tested with. */
export const VERSIONS: readonly HtmxVersion[] = [4, 2];

/** The app's truth: a list of notes and a status line, rendered as the page renders them. */
export class NotesApp {
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

/** How a {@link Site} serves its page. */
export interface SiteOptions {
  version: HtmxVersion;
  /** Declare the topics (`notes` with its snapshot, `status` a state topic); false: the seed's broker. */
  topics: boolean;
  bufferSize?: number;
  /** The broker's history size (default {@link HISTORY}). */
  historySize?: number;
}

/** A stream request as the server saw it. */
export interface StreamRequest {
  lastEventId: string | undefined;
}

/**
 * The app on a node:http server on 127.0.0.1: the page at `/`, its stream at
 * `/events` on the current broker. A restart replaces server and broker
 * (same port, same app state); the app's changes publish to the current one.
 */
export class Site {
  readonly app = new NotesApp();
  /** Every request for the stream, in order. */
  readonly streams: StreamRequest[] = [];
  /** Every broker the site ran, oldest first (one per start): the last is {@link broker}. */
  readonly brokers: EventBroker[] = [];
  private events!: ReturnType<typeof handler>;
  private server!: TestServer;

  constructor(private readonly options: SiteOptions) {}

  get url(): string {
    return this.server.url;
  }

  /** The current broker. */
  get broker(): EventBroker {
    return this.brokers.at(-1)!;
  }

  async start(port = 0): Promise<void> {
    const { version, topics, bufferSize, historySize = HISTORY } = this.options;
    const app = this.app;
    const brokerOptions: BrokerOptions = { historySize, bufferSize };
    if (topics) {
      brokerOptions.topics = {
        notes: { snapshot: () => app.renderNotes(), target: "#notes" },
        // After a restart the broker knows no latest status: the snapshot renders it.
        status: { kind: "state", snapshot: () => app.renderStatus(), target: "#status" },
      };
    }
    this.brokers.push(new EventBroker(brokerOptions));
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

  /** Waits until the current broker holds exactly one stream, its `opened`-th since it started. */
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

/** Two regions of the page, as HTML. */
export interface Regions {
  notes: string;
  status: string;
}

/**
 * Each region's HTML as the page shows it now: long padding abbreviated, and
 * htmx's settling classes (`htmx-added`, for a moment) and the empty class
 * attributes they leave out.
 */
export function regions(page: Page): Promise<Regions> {
  return page.evaluate(() => {
    const read = (id: string) =>
      (document.getElementById(id)?.innerHTML ?? "(missing)")
        .replace(/ class="(?:htmx-[\w-]+ ?)*"/g, "")
        .replace(/x{100,}/g, (run) => `x*${run.length}`);
    return { notes: read("notes"), status: read("status") };
  });
}

/** The regions a fresh load of the page shows: its HTML as served, with scripts off. */
export async function freshRegions(site: Site, browser: Browser): Promise<Regions> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(site.url);
    return await regions(page);
  } finally {
    await context.close();
  }
}

/** A site with its page open in Chromium; the page's uncaught errors land in `errors`. */
export interface Opened {
  site: Site;
  page: Page;
  errors: string[];
}

/**
 * Starts a site and opens its page in a new context of `browser` (both
 * closed in `cleanups`): a status and a note before the load, one note live.
 */
export async function open(
  browser: Browser,
  cleanups: (() => unknown)[],
  options: SiteOptions,
): Promise<Opened> {
  const site = new Site(options);
  await site.start();
  cleanups.push(() => site.close());
  const context = await browser.newContext();
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
export function shows(page: Page, note: string): Promise<unknown> {
  return page.waitForFunction(
    (text) =>
      Array.from(document.querySelectorAll("#notes li"), (li) => li.textContent).includes(text),
    note,
    WAIT,
  );
}

/** Waits until the page's regions equal a fresh load's (in the page's browser); fails after {@link WAIT}. */
export async function expectConverged(site: Site, page: Page): Promise<void> {
  const browser = page.context().browser();
  if (browser === null) throw new Error("the page has no browser");
  const truth = await freshRegions(site, browser);
  await expect.poll(() => regions(page), WAIT).toEqual(truth);
}

/** Waits until the page's stream fails to reconnect to a closed port (a server that is down). */
export function refused(page: Page): Promise<unknown> {
  return page.waitForEvent("requestfailed", {
    predicate: (request) =>
      request.url().endsWith("/events") &&
      request.failure()?.errorText === "net::ERR_CONNECTION_REFUSED",
    ...WAIT,
  });
}

/**
 * Throttles the page's downloads through CDP: the returned function sets
 * bytes per second (-1: no limit). Chromium throttles requests started after
 * it is turned on (cut the stream to reconnect under it); a release applies
 * to the open stream too.
 */
export async function throttler(page: Page): Promise<(bytesPerSecond: number) => Promise<unknown>> {
  const cdp = await page.context().newCDPSession(page);
  return (downloadThroughput) =>
    cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput,
      uploadThroughput: -1,
    });
}
