import { setImmediate as nextTick } from "node:timers/promises";
import { cleanupAfterEach, waitFor } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  expectConverged,
  freshRegions,
  HISTORY,
  open,
  refused,
  regions,
  type Site,
  type SiteOptions,
  shows,
  throttler,
  VERSIONS,
} from "../testing/convergence-site.js";

// Issue #25 in Debian's Chromium, with the real htmx 4.0.1 (hx-sse, the
// handler's `swap` map) and htmx 2.0.11 with htmx-ext-sse 2.2.4 (named
// events, `sse-swap`): a page that falls behind (a tab away for longer than
// history, a restart of an in-memory server, a client throttled during a
// burst) ends at what a fresh load of it shows, with no script of its own.
// Every wait is on a DOM or server condition; the browser reconnects after
// the `retry:` each event carries.

const cleanups = cleanupAfterEach();
const browser = chromiumPerFile();
const openPage = (options: SiteOptions) => open(browser(), cleanups, options);

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
      const { site, page, errors } = await openPage({ version, topics: true });
      await awayLongerThanHistory(site, page);
      await expectConverged(site, page);
      expect(site.streams[1]?.lastEventId).toMatch(/-\d+$/);
      // The status's latest event is replayed from history; the notes get a snapshot.
      expect(site.broker.stats()).toMatchObject({ snapshots: { miss: 1 }, resumeMisses: 1 });
      expect(errors).toEqual([]);
    });

    it("control: without the topics option, the same tab stays behind a fresh render", async () => {
      const { site, page } = await openPage({ version, topics: false });
      await awayLongerThanHistory(site, page);
      const truth = await freshRegions(site, browser());
      const shown = await regions(page);
      expect(shown).not.toEqual(truth);
      // The notes published while away and the new status never reached it.
      expect(shown.notes).toBe("<li>before 1</li><li>before 2</li><li>after</li>");
      expect(shown.status).toBe("<b>online</b>");
      expect(truth.notes).toContain("<li>away 1</li>");
      expect(site.broker.stats()).toMatchObject({ resumeMisses: 1, snapshots: { miss: 0 } });
    });

    it("a restart of an in-memory server: the old-epoch id gets a snapshot (reason restart)", async () => {
      const { site, page, errors } = await openPage({ version, topics: true });
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
      const { site, page, errors } = await openPage({ version, topics: true });
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
      const { site, page, errors } = await openPage({ version, topics: true, bufferSize: 4 });
      const throttle = await throttler(page);
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
