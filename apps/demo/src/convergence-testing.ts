import { isDeepStrictEqual } from "node:util";
import { waitFor } from "@burrow/test-utils";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { HTMX, type HtmxVersion } from "./shared/htmx.js";
import type { StreamRequest } from "./testing.js";

// Test support for the convergence tests (convergence*.browser.test.ts): the
// regions of the demo's pages that snapshots and state topics keep right,
// what a fresh load of a page shows in them, and a tab whose streams are cut
// and whose reconnects are held while the demo moves on.

/** How long a page may take to converge. */
export const CONVERGE_WAIT = { timeout: 20_000 };

/** A page of the demo whose regions converge, and the stream that keeps them live. */
export interface DemoPage {
  /** The page's path. */
  path: string;
  /** Its stream's path, for the pages of `htmx`. */
  stream(htmx: HtmxVersion): string;
  /** The elements a snapshot or a state topic keeps right. */
  regions: readonly string[];
}

/** The home page: the notes list (a snapshot), the status line and the live statistics (state). */
export const HOME: DemoPage = {
  path: "/",
  stream: (htmx) => `${HTMX[htmx].prefix}/events`,
  regions: ["#notes", "#status", "#stats"],
};

/** Project 42's page: its badge and "viewing now" (state topics). */
export const PROJECT: DemoPage = {
  path: "/projects/42",
  stream: (htmx) => `${HTMX[htmx].prefix}/projects/42/events`,
  regions: ["#badge", "#viewing"],
};

/** What a page shows in each region: its child elements' markup, htmx's passing classes removed. */
export type Regions = Record<string, string[]>;

/**
 * The regions of `tab` as it shows them now, and of `html` (a page as
 * served) parsed by the same browser, read at once.
 */
function readRegions(
  tab: Page,
  selectors: readonly string[],
  html: string,
): Promise<{ shown: Regions; fresh: Regions }> {
  return tab.evaluate(
    ([all, served]) => {
      const clean = (el: Element) => {
        const copy = el.cloneNode(true) as Element;
        for (const one of [copy, ...Array.from(copy.querySelectorAll("*"))]) {
          for (const name of Array.from(one.classList)) {
            if (name.startsWith("htmx-")) one.classList.remove(name);
          }
          if (one.getAttribute("class") === "") one.removeAttribute("class");
        }
        return copy.outerHTML;
      };
      const regions = (doc: Document) =>
        Object.fromEntries(
          all.map((selector) => {
            const region = doc.querySelector(selector);
            return [selector, region === null ? ["(missing)"] : Array.from(region.children, clean)];
          }),
        );
      // DOMParser runs no script: the page as a fresh load shows it before any stream opens.
      const fresh = new DOMParser().parseFromString(served, "text/html");
      return { shown: regions(document), fresh: regions(fresh) };
    },
    [selectors, html] as const,
  );
}

/**
 * Waits until `tab` shows in every region of `page` what a fresh load of
 * the page from the demo at `base` shows at the same moment (the live
 * statistics move on: each try fetches the page again), and returns what
 * it showed. The fresh load is alice's, in the demo's default language.
 */
export async function expectConverged(tab: Page, page: DemoPage, base: string): Promise<Regions> {
  let truth: Regions = {};
  await expect
    .poll(async () => {
      const res = await fetch(new URL(page.path, base));
      const { shown, fresh } = await readRegions(tab, page.regions, await res.text());
      truth = fresh;
      return differences(shown, fresh);
    }, CONVERGE_WAIT)
    .toEqual({});
  return truth;
}

/** Where `shown` differs from `fresh`, by region: the counts, and the first item that differs. */
function differences(shown: Regions, fresh: Regions): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const [region, items] of Object.entries(fresh)) {
    const seen = shown[region] ?? [];
    if (isDeepStrictEqual(seen, items)) continue;
    const at = items.findIndex((item, i) => seen[i] !== item);
    const index = at === -1 ? items.length : at;
    found[region] = {
      items: { shown: seen.length, fresh: items.length },
      first: { index, shown: seen[index], fresh: items[index] },
    };
  }
  return found;
}

/** A form POST to the demo at `base`, as a colleague's browser would send it (as alice). */
export async function post(
  base: string,
  path: string,
  form: Record<string, string>,
): Promise<void> {
  const res = await fetch(new URL(path, base), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

/** Tabs whose streams were cut, each one's reconnect held by the browser. */
export interface Away {
  /** Lets every held reconnect through; resolves once none is held any more. */
  back(): Promise<void>;
}

/**
 * Sends `tabs` away: holds each one's next request for its page's stream
 * (`tab[1]`, pages of `htmx`) in the browser, cuts every stream in
 * `streams` server-side, and resolves once every tab's reconnect is held.
 */
export async function sendAway(
  tabs: readonly (readonly [Page, DemoPage])[],
  htmx: HtmxVersion,
  streams: readonly StreamRequest[],
): Promise<Away> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = 0;
  let continued = 0;
  const routes = tabs.map(([tab, page]) => {
    const matches = (url: URL) => url.pathname === page.stream(htmx);
    return { tab, matches };
  });
  for (const { tab, matches } of routes) {
    await tab.route(matches, async (route) => {
      held++;
      await released;
      await route.continue();
      continued++;
    });
  }
  for (const request of streams) request.socket.destroy();
  await waitFor(() => held >= tabs.length, "every tab's reconnect held");
  return {
    async back() {
      release();
      await waitFor(() => continued >= tabs.length, "every tab's reconnect let through");
      for (const { tab, matches } of routes) await tab.unroute(matches);
    },
  };
}

/**
 * `user` viewing project 42 from another browser: a raw stream of the
 * project page of `htmx` on the demo at `base`, until `leave()`.
 */
export async function viewer(
  base: string,
  htmx: HtmxVersion,
  user: string,
): Promise<{ leave(): void }> {
  const stop = new AbortController();
  const res = await fetch(new URL(PROJECT.stream(htmx), base), {
    headers: { Accept: "text/event-stream", Cookie: `user=${user}` },
    signal: stop.signal,
  });
  expect(res.status).toBe(200);
  res.body?.pipeTo(new WritableStream()).catch(() => {});
  return { leave: () => stop.abort() };
}
