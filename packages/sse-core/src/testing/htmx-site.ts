// A site for the htmx browser tests (not published: tsup bundles the entry
// points only): pages and routes on one loopback server, every request
// recorded, and Chromium pages that collect their errors.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { listen, type TestServer } from "@burrow/test-utils";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { EventBroker } from "../index.js";
import { serveStatic } from "./htmx-pages.js";

/** A request the site received. */
export interface SiteRequest {
  method: string;
  url: string;
  /** Its Last-Event-ID header. */
  lastEventId: string | undefined;
  headers: IncomingHttpHeaders;
}

/** A route of the site: a handler of `node:http`'s request. */
export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** A site and its first page, opened on `/`. */
export interface Site {
  server: TestServer;
  broker: EventBroker;
  /** Every request, in order. */
  requests: SiteRequest[];
  page: Page;
  /** The console errors and page errors of every page opened. */
  errors: string[];
  /** Opens one more page of the site (same browser context), collecting its errors too. */
  open(): Promise<Page>;
}

/** A new page of `context` whose console errors and page errors go to `errors`. */
async function pageOf(context: BrowserContext, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return page;
}

/**
 * Serves `pages` (path → HTML, or a function rendering it) and `routes` on
 * one server, and opens a page in `browser` (not yet navigated); the server,
 * the browser context and `broker` close in `cleanups`.
 */
export async function openSite(
  browser: Browser,
  cleanups: (() => unknown)[],
  broker: EventBroker,
  pages: Record<string, () => string | Promise<string>>,
  routes: Record<string, Route>,
): Promise<Site> {
  const requests: SiteRequest[] = [];
  const server = await listen(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    requests.push({
      method: req.method ?? "",
      url: req.url ?? "",
      lastEventId: req.headers["last-event-id"] as string | undefined,
      headers: req.headers,
    });
    if (serveStatic(path, res)) return;
    const page = pages[path];
    if (page !== undefined) {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(await page());
      return;
    }
    const route = routes[path];
    if (route !== undefined) return void route(req, res);
    res.writeHead(404).end();
  });
  const context = await browser.newContext();
  const errors: string[] = [];
  cleanups.push(
    () => server.close(),
    () => context.close(),
    () => broker.close(),
  );
  const page = await pageOf(context, errors);
  return { server, broker, requests, page, errors, open: () => pageOf(context, errors) };
}

/** The requests `site` received for `path` (query strings included), in order. */
export const streams = (site: Site, path: string): SiteRequest[] =>
  site.requests.filter((r) => r.url.startsWith(path));

/** The text of every element `selector` matches on `page`, in document order. */
export const texts = (page: Page, selector: string): Promise<(string | null)[]> =>
  page.locator(selector).evaluateAll((els) => els.map((el) => el.textContent));
