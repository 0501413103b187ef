import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONVERGE_WAIT,
  type DemoPage,
  expectConverged,
  HOME,
  PROJECT,
  post,
  sendAway,
  viewer,
} from "./convergence-testing.js";
import { HTMX_VERSIONS } from "./shared/htmx.js";
import { FRAMEWORKS } from "./shared/plugin.js";
import { HISTORY_SIZE, type RunningDemo } from "./start.js";
import { recordStreams, type StreamRequest, startRunning, trackStreams } from "./testing.js";

// Issue #25 on the demo, in Debian's Chromium, with its htmx 4 and htmx 2
// pages on express, koa and fastify: an open home page and an open project
// page that missed more than the demo's history (a tab away while colleagues
// added notes, set the status, updated the project and came to view it; a
// restart of the in-memory demo) end at what a fresh load of each page shows,
// in every region: the notes list (its snapshot), the status line, the live
// statistics, the project's badge and "viewing now" (state topics), through
// the broker's `topics` option and, on htmx 2, `snapshotOnConnect`. The pages
// run no script of the demo's own.

/** More notes than the demo keeps in history: a resume cannot be exact. */
const BURST = HISTORY_SIZE + 20;

const browser = chromiumPerFile();

for (const framework of FRAMEWORKS) {
  for (const htmx of HTMX_VERSIONS) {
    describe.skipIf(!hasChromium)(`the demo's pages converge, htmx ${htmx} on ${framework}`, () => {
      let demo: RunningDemo;
      /** Every request for either page's stream, in order (across the restart). */
      const streams: StreamRequest[] = [];
      let untrack = () => {};
      let context: BrowserContext;
      let home: Page;
      let project: Page;
      const errors: string[] = [];

      const start = (port: number) =>
        startRunning({
          argv: [
            `--framework=${framework}`,
            `--htmx=${htmx}`,
            `--port=${port}`,
            "--stats-interval=250",
          ],
          reconnectWindowMs: 300,
          presenceDebounceMs: 100,
        });
      const track = () => {
        untrack = trackStreams(demo, [HOME.stream(htmx), PROJECT.stream(htmx)], streams);
      };
      const converged = (tab: Page, page: DemoPage) => expectConverged(tab, page, demo.url);
      /** Who is viewing project 42, as the broker knows it. */
      const viewers = async () => (await demo.broker.members("project:42")).map((m) => m.id);
      const opens = (tab: Page) => tab.evaluate(() => window.sseOpens);
      /** Snapshots of the notes list the home page received (both versions: one `<hx-partial>`). */
      const notesSnapshots = () =>
        home.evaluate(
          () =>
            window.sseMessages.filter((m) =>
              m.data.startsWith('<hx-partial hx-target="#notes" hx-swap="innerHTML">'),
            ).length,
        );

      async function open(page: DemoPage): Promise<Page> {
        const tab = await context.newPage();
        tab.on("pageerror", (error) => errors.push(error.message));
        await tab.goto(new URL(page.path, demo.url).href);
        await tab.waitForFunction(() => window.sseOpens >= 1, undefined, CONVERGE_WAIT);
        return tab;
      }

      beforeAll(async () => {
        demo = await start(0);
        track();
        context = await browser().newContext({ locale: "en-US" });
        await context.addInitScript(recordStreams);
        await post(demo.url, "/notes", { title: "before the page" });
        home = await open(HOME);
        project = await open(PROJECT);
        await post(demo.url, "/notes", { title: "seen live" });
        await home.locator("#notes .note-title", { hasText: "seen live" }).waitFor(CONVERGE_WAIT);
      }, 60_000);

      afterAll(async () => {
        untrack();
        await context?.close();
        await demo?.close();
      });

      it(`tabs away while ${BURST} notes were added and the project updated ${BURST} times (more than history), the status set and the project viewed, end at a fresh load`, async () => {
        const misses = demo.broker.stats().snapshots.miss;
        const snapshots = await notesSnapshots();
        const tabs = [[home, HOME] as const, [project, PROJECT] as const];
        const away = await sendAway(tabs, htmx, streams);
        const opened = streams.length;

        for (let i = 1; i <= BURST; i++) {
          await post(demo.url, "/notes", { title: `while away ${i}` });
          await post(demo.url, PROJECT.path, { status: `Step ${i}`, tone: "warn" });
        }
        await post(demo.url, "/status", { text: "Deploying" });
        await post(demo.url, "/status", { text: "Deployed" });
        // bob opens project 42 in his browser while alice's tab is away.
        const bob = await viewer(demo.url, htmx, "bob");
        await expect.poll(viewers, CONVERGE_WAIT).toContain("bob");
        await away.back();
        // Both tabs back on their streams (bob's is the one with his cookie).
        const back = () => streams.slice(opened).filter((r) => r.user !== "bob");
        await expect.poll(() => back().length, CONVERGE_WAIT).toBe(2);

        const truth = await converged(home, HOME);
        expect(truth["#notes"]).toHaveLength(BURST + 2);
        expect(truth["#status"]).toEqual(['<span class="status-text">Deployed</span>']);
        const { "#badge": badge, "#viewing": viewing } = await converged(project, PROJECT);
        expect(badge?.[0]).toContain(`data-revision="${BURST + 1}"`);
        expect(viewing).toHaveLength(2);
        // The home page came back with its Last-Event-ID, long evicted: one snapshot replaced the list.
        const homeBack = back().find((r) => r.url.startsWith(HOME.stream(htmx)));
        expect(homeBack?.lastEventId).toMatch(/-\d+$/);
        expect(demo.broker.stats().snapshots.miss).toBeGreaterThan(misses);
        expect(await notesSnapshots()).toBe(snapshots + 1);

        // Live again: the next note is appended once, and bob leaving is seen.
        await post(demo.url, "/notes", { title: "after the burst" });
        await home
          .locator("#notes .note-title", { hasText: "after the burst" })
          .waitFor(CONVERGE_WAIT);
        bob.leave();
        await expect.poll(viewers, CONVERGE_WAIT).toEqual(["alice"]);
        await converged(home, HOME);
        expect((await converged(project, PROJECT))["#viewing"]).toHaveLength(1);
        expect(errors).toEqual([]);
      });

      it("tabs open while the in-memory demo restarts end at the restarted demo's state", async () => {
        const before = [await opens(home), await opens(project)] as const;
        const port = Number(new URL(demo.url).port);
        untrack();
        await demo.close();
        // The new process starts afresh: no notes, no status, the project as first
        // seeded, and a new epoch of event ids.
        demo = await start(port);
        track();
        await home.waitForFunction((n) => window.sseOpens > n, before[0], CONVERGE_WAIT);
        await project.waitForFunction((n) => window.sseOpens > n, before[1], CONVERGE_WAIT);
        await post(demo.url, "/notes", { title: "first after the restart" });

        const truth = await converged(home, HOME);
        expect(truth["#notes"]).toHaveLength(1);
        expect(truth["#status"]).toEqual([]);
        // The page says so in its own language, beside the emptied status line.
        expect(await home.locator(".status-unknown").isVisible()).toBe(true);
        const { "#badge": badge } = await converged(project, PROJECT);
        expect(badge?.[0]).toContain('data-revision="1"');
        const { snapshots } = demo.broker.stats();
        expect(snapshots.restart + snapshots.connect).toBeGreaterThan(0);
        expect(errors).toEqual([]);
      });
    });
  }
}

if (!hasChromium) {
  describe("the demo's pages converge in Chromium", () => {
    it.skip("skipped: Chromium is missing (apt-get install chromium)", () => {});
  });
}
