import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import type { CDPSession, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { CONVERGE_WAIT, HOME, PROJECT, post } from "./convergence-testing.js";
import { demoTabs } from "./demo-tabs.js";
import type { HtmxVersion } from "./shared/htmx.js";
import type { Framework } from "./shared/plugin.js";
import { MAX_TITLE } from "./shared/store.js";

// Issue #25 on the demo: a tab throttled to a trickle by Chromium's network
// emulation (CDP `Network.emulateNetworkConditions`) while a burst of notes
// overflows its stream's buffer, then released, ends at what a fresh load
// shows, on express, koa and fastify, htmx 4 and htmx 2 (each framework once,
// both versions among them: see the cost below): the overflowed
// notes list by one snapshot (reason "overflow"), the status line and the
// live statistics by their latest events; the project tab, throttled too,
// by its badge's latest event.
//
// What it takes to overflow. Chromium throttles a request only if it started
// throttled, so the tabs' streams are cut once the trickle is on, and
// reconnect at it. Chromium then reads no further than about 130 KB ahead of
// the page, and the server's kernel takes the rest: on loopback it sizes a
// socket's send buffer for a 64 KB segment, up to net.ipv4.tcp_wmem's
// maximum (4 MB by default), before a write is refused and the broker starts
// queueing. So the burst is about 4 MB, of the biggest notes a form accepts
// (200 `"`, each 6 bytes on the wire as `&quot;`: 1.3 KB an event, some
// 3,000 notes), posted until the server's socket holds bytes the kernel
// refused, then the broker's buffer size and one more. Lowering the demo's
// buffer (SSE_BUFFER_SIZE) would save only those few notes, so the demo
// keeps its own. The broker's stats prove the overflow happened
// (`snapshots.overflow`), and the home tab got that snapshot.
//
// Those 4 MB cost seconds of posting per run, so the file runs three, not
// six: the overflow and its repair are the broker's, once an adapter has
// handed it the stream, and the page takes an overflow's snapshot as it takes
// a miss's (the same `<hx-partial hx-target="#notes" hx-swap="innerHTML">`),
// which convergence.browser.test.ts checks on all six.

/** Chromium's network emulation: a trickle of 1 KB/s down, and none. */
const TRICKLE = { offline: false, latency: 0, downloadThroughput: 1000, uploadThroughput: -1 };
const RELEASED = { ...TRICKLE, downloadThroughput: -1 };
/** The heaviest note title a form accepts: 6 bytes a character once escaped. */
const HEAVY = '"'.repeat(MAX_TITLE);
/** Notes posted at once while filling the kernel's buffers. */
const AT_ONCE = 50;
/** Past this many notes the stream never backed up: a clear failure, not a hang. */
const AT_MOST = 20_000;
/** Each framework once, both htmx versions among them. */
const RUNS: readonly (readonly [Framework, HtmxVersion])[] = [
  ["express", 4],
  ["koa", 2],
  ["fastify", 2],
];

const browser = chromiumPerFile();

/** Throttles `tab`'s requests from now on to `conditions`. */
async function throttle(tab: Page, conditions: typeof TRICKLE): Promise<CDPSession> {
  const cdp = await tab.context().newCDPSession(tab);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", conditions);
  return cdp;
}

for (const [framework, htmx] of RUNS) {
  describe.skipIf(!hasChromium)(`a throttled tab converges, htmx ${htmx} on ${framework}`, () => {
    const t = demoTabs(framework, htmx, browser);

    it("tabs throttled to a trickle while a burst overflows the home stream's buffer end at a fresh load once released", async () => {
      const { demo, home, project, streams } = t;
      const cdp = [await throttle(home, TRICKLE), await throttle(project, TRICKLE)];
      // Cut, the streams reconnect at the trickle.
      const before = [await t.opens(home), await t.opens(project)] as const;
      const opened = streams.length;
      for (const request of streams) request.socket.destroy();
      await home.waitForFunction((n) => window.sseOpens > n, before[0], CONVERGE_WAIT);
      await project.waitForFunction((n) => window.sseOpens > n, before[1], CONVERGE_WAIT);
      const stream = streams.slice(opened).find((r) => r.url.startsWith(HOME.stream(htmx)));
      expect(stream).toBeDefined();
      const { overflow } = demo.broker.stats().snapshots;
      const snapshots = await t.notesSnapshots();

      await post(demo.url, PROJECT.path, { status: "Throttled", tone: "stop" });
      let posted = 0;
      // Until a write is refused (the broker's stream then blocks and queues what follows).
      while (!stream!.socket.writableNeedDrain) {
        if (posted >= AT_MOST) throw new Error(`the throttled stream took ${posted} notes`);
        const burst = Array.from({ length: AT_ONCE }, () =>
          post(demo.url, "/notes", { title: HEAVY }),
        );
        await Promise.all(burst);
        posted += AT_ONCE;
      }
      // The kernel refuses more: the broker queues, then overflows.
      for (let i = 0; i <= demo.broker.bufferSize; i++) {
        await post(demo.url, "/notes", { title: `past the buffer ${i}` });
      }
      await post(demo.url, "/status", { text: "Deployed" });
      await post(demo.url, PROJECT.path, { status: "Released", tone: "ok" });
      for (const session of cdp) await session.send("Network.emulateNetworkConditions", RELEASED);

      const truth = await t.converged(home, HOME);
      expect(truth["#notes"]?.at(-1)).toContain(`past the buffer ${demo.broker.bufferSize}`);
      expect(truth["#status"]).toEqual(['<span class="status-text">Deployed</span>']);
      expect(demo.broker.stats().snapshots.overflow).toBeGreaterThan(overflow);
      expect(await t.notesSnapshots()).toBeGreaterThan(snapshots);
      const { "#badge": badge } = await t.converged(project, PROJECT);
      expect(badge?.[0]).toContain("Released");

      // Live again: the next note is appended once.
      await post(demo.url, "/notes", { title: "after the trickle" });
      await home.locator(".note-title", { hasText: "after the trickle" }).waitFor(CONVERGE_WAIT);
      await t.converged(home, HOME);
      expect(t.errors).toEqual([]);
    });
  });
}

if (!hasChromium) {
  describe("a throttled tab converges in Chromium", () => {
    it.skip("skipped: Chromium is missing (apt-get install chromium)", () => {});
  });
}
