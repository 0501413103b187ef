import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import { describe, expect, it } from "vitest";
import { CONVERGE_WAIT, HOME, PROJECT, post, sendAway, viewer } from "./convergence-testing.js";
import { demoTabs } from "./demo-tabs.js";
import { HTMX_VERSIONS } from "./shared/htmx.js";
import { FRAMEWORKS } from "./shared/plugin.js";
import { MAX_NOTES } from "./shared/store.js";
import { HISTORY_SIZE } from "./start.js";

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
      const t = demoTabs(framework, htmx, browser);

      it(`tabs away while ${BURST} notes were added and the project updated ${BURST} times (more than history), the status set and the project viewed, end at a fresh load`, async () => {
        const { demo, home, project, streams } = t;
        const misses = demo.broker.stats().snapshots.miss;
        const snapshots = await t.notesSnapshots();
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
        await expect.poll(() => t.viewers(), CONVERGE_WAIT).toContain("bob");
        await away.back();
        // Both tabs back on their streams (bob's is the one with his cookie).
        const back = () => streams.slice(opened).filter((r) => r.user !== "bob");
        await expect.poll(() => back().length, CONVERGE_WAIT).toBe(2);

        const truth = await t.converged(home, HOME);
        expect(truth["#notes"]).toHaveLength(BURST + 2);
        expect(truth["#status"]).toEqual(['<span class="status-text">Deployed</span>']);
        const { "#badge": badge, "#viewing": viewing } = await t.converged(project, PROJECT);
        expect(badge?.[0]).toContain(`data-revision="${BURST + 1}"`);
        expect(viewing).toHaveLength(2);
        // The home page came back with its Last-Event-ID, long evicted: one snapshot replaced the list.
        const homeBack = back().find((r) => r.url.startsWith(HOME.stream(htmx)));
        expect(homeBack?.lastEventId).toMatch(/-\d+$/);
        expect(demo.broker.stats().snapshots.miss).toBeGreaterThan(misses);
        expect(await t.notesSnapshots()).toBe(snapshots + 1);

        // Live again: the next note is appended once, and bob leaving is seen.
        await post(demo.url, "/notes", { title: "after the burst" });
        await home.locator(".note-title", { hasText: "after the burst" }).waitFor(CONVERGE_WAIT);
        bob.leave();
        await expect.poll(() => t.viewers(), CONVERGE_WAIT).toEqual(["alice"]);
        await t.converged(home, HOME);
        expect((await t.converged(project, PROJECT))["#viewing"]).toHaveLength(1);
        expect(t.errors).toEqual([]);
      });

      it("tabs open while the in-memory demo restarts end at the restarted demo's state", async () => {
        const { home, project } = t;
        const before = [await t.opens(home), await t.opens(project)] as const;
        // The new process starts afresh: no notes, no status, the project as first
        // seeded, and a new epoch of event ids.
        await t.restart();
        await home.waitForFunction((n) => window.sseOpens > n, before[0], CONVERGE_WAIT);
        await project.waitForFunction((n) => window.sseOpens > n, before[1], CONVERGE_WAIT);
        await post(t.demo.url, "/notes", { title: "first after the restart" });

        const truth = await t.converged(home, HOME);
        expect(truth["#notes"]).toHaveLength(1);
        expect(truth["#status"]).toEqual([]);
        // The page says so in its own language, beside the emptied status line.
        expect(await home.locator(".status-unknown").isVisible()).toBe(true);
        const { "#badge": badge } = await t.converged(project, PROJECT);
        expect(badge?.[0]).toContain('data-revision="1"');
        const { snapshots } = t.demo.broker.stats();
        expect(snapshots.restart + snapshots.connect).toBeGreaterThan(0);
        expect(t.errors).toEqual([]);
      });

      it(`a tab that sees every note live keeps the last ${MAX_NOTES}, as a fresh load shows them`, async () => {
        const { demo, home } = t;
        const snapshots = await t.notesSnapshots();
        for (let i = 1; i <= MAX_NOTES + 5; i++) {
          await post(demo.url, "/notes", { title: `live ${i}` });
        }
        const last = home.locator(".note-title", { hasText: `live ${MAX_NOTES + 5}` });
        await last.waitFor(CONVERGE_WAIT);
        // Each note's event deleted the note the store let go of for it: no snapshot needed.
        expect((await t.converged(home, HOME))["#notes"]).toHaveLength(MAX_NOTES);
        expect(await t.notesSnapshots()).toBe(snapshots);
        expect(t.errors).toEqual([]);
      });
    });
  }
}

if (!hasChromium) {
  describe("the demo's pages converge in Chromium", () => {
    it.skip("skipped: Chromium is missing (apt-get install chromium)", () => {});
  });
}
