import { type TcpProxy, tcpProxy, waitFor } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  uniquePrefix as uniqueTablePrefix,
} from "@burrow/test-utils/postgres";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "@burrow/test-utils/redis";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONVERGE_WAIT,
  expectConverged,
  HOME,
  PROJECT,
  post,
  sendAway,
} from "./convergence-testing.js";
import { openTab } from "./demo-tabs.js";
import { HTMX_VERSIONS, type HtmxVersion } from "./shared/htmx.js";
import { FRAMEWORKS, type Framework } from "./shared/plugin.js";
import { HISTORY_SIZE, type RunningDemo } from "./start.js";
import { recordStreams, type StreamRequest, startRunning, trackStreams } from "./testing.js";

// Issue #25 on the demo: two demo processes on one Redis (REDIS_URL: one
// backplane, one state), and alice's home and project tabs loaded from the
// first through a proxy, as a load balancer would serve them. The tabs go
// away (their streams cut, their reconnects held) while more than history
// happens on the first demo (notes, badge updates, the status); meanwhile
// the proxy sends every new connection to the second demo. Let go, the tabs
// reconnect by themselves, to the second demo, with the first one's
// Last-Event-ID, and end at what a fresh load of the second demo shows, in
// every region. Each framework serves the comeback once per htmx version.

/** More notes and badge updates than history holds: a resume cannot be exact. */
const BURST = HISTORY_SIZE + 20;

const browser = chromiumPerFile();

/** [the demo the tabs leave, the demo they come back to, the pages' htmx]: each framework receives. */
const RUNS: readonly (readonly [Framework, Framework, HtmxVersion])[] = FRAMEWORKS.flatMap(
  (to, i) =>
    HTMX_VERSIONS.map((htmx) => [FRAMEWORKS[(i + 1) % FRAMEWORKS.length]!, to, htmx] as const),
);

/** Where two demos share their topics and their state: the environment of each, and the cleanup. */
interface Shared {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** The scenario on each of `runs`, with two demos sharing through `shared()`'s backplane. */
function comesBack(runs: typeof RUNS, shared: () => Shared): void {
  for (const [from, to, htmx] of runs) {
    describe.skipIf(!hasChromium)(`htmx ${htmx}, from ${from} to ${to}`, () => {
      const { env, cleanup } = shared();
      const demos: RunningDemo[] = [];
      /** The streams each demo was asked for. */
      const streams: StreamRequest[][] = [[], []];
      const untrack: (() => void)[] = [];
      const errors: string[] = [];
      /** Where the tabs load the pages: a load balancer sending them to one demo, then the other. */
      let proxy: TcpProxy;
      let context: BrowserContext;
      let home: Page;
      let project: Page;

      beforeAll(async () => {
        for (const framework of [from, to]) {
          const demo = await startRunning({
            argv: [
              `--framework=${framework}`,
              `--htmx=${htmx}`,
              "--port=0",
              "--stats-interval=250",
            ],
            env,
            reconnectWindowMs: 300,
            presenceDebounceMs: 100,
          });
          const paths = [HOME.stream(htmx), PROJECT.stream(htmx)];
          untrack.push(trackStreams(demo, paths, streams[demos.length]!));
          demos.push(demo);
          const ready = () => demo.broker.stats().backplane?.state === "ready";
          await waitFor(ready, `${framework}'s backplane ready`);
        }
        proxy = await tcpProxy(demos[0]!.url);
        context = await browser().newContext({ locale: "en-US" });
        await context.addInitScript(recordStreams);
        await post(demos[0]!.url, "/notes", { title: "before the page" });
        home = await openTab(context, new URL(HOME.path, proxy.url).href, errors);
        project = await openTab(context, new URL(PROJECT.path, proxy.url).href, errors);
      }, 60_000);

      afterAll(async () => {
        for (const stop of untrack) stop();
        await context?.close();
        proxy?.close();
        for (const demo of demos) await demo.close();
        await cleanup();
      });

      it(`tabs away from ${from} while ${BURST} notes and badge updates happened there come back to ${to} and end at a fresh load of it`, async () => {
        const [first, second] = demos as [RunningDemo, RunningDemo];
        const tabs = [[home, HOME] as const, [project, PROJECT] as const];
        const away = await sendAway(tabs, htmx, streams[0]!);
        for (let i = 1; i <= BURST; i++) {
          await post(first.url, "/notes", { title: `on ${from} ${i}` });
          await post(first.url, PROJECT.path, { status: `Step ${i}`, tone: "warn" });
        }
        await post(first.url, "/status", { text: "Deploying" });
        await post(first.url, "/status", { text: "Deployed" });
        proxy.switchTo(second.url);
        await away.back();
        // Both tabs back, on the second demo, resuming from an id the first one gave them (htmx 4:
        // the Last-Event-ID header, or the page's render-time cursor when it connects anew; htmx 2
        // sends none when its extension rebuilt the EventSource: then snapshotOnConnect).
        const paths = () => new Set(streams[1]!.map((request) => request.url.split("?")[0]));
        await expect.poll(() => paths().size, CONVERGE_WAIT).toBe(2);
        if (htmx === 4) {
          for (const { url, lastEventId } of streams[1]!) {
            const cursor = new URL(url, second.url).searchParams.get("lastEventId");
            expect(lastEventId ?? cursor).toMatch(/-\d+r?$/);
          }
        }

        const truth = await expectConverged(home, HOME, second.url);
        expect(truth["#notes"]).toHaveLength(BURST + 1);
        expect(truth["#status"]).toEqual(['<span class="status-text">Deployed</span>']);
        const { "#badge": badge, "#viewing": viewing } = await expectConverged(
          project,
          PROJECT,
          second.url,
        );
        expect(badge?.[0]).toContain(`data-revision="${BURST + 1}"`);
        expect(viewing).toHaveLength(1);

        // Live again, from either demo: one after the other (two posts on two processes a few
        // milliseconds apart may be ordered either way by the backplane, while the store numbers
        // them in the order posted: the README's "two demos taking notes at the same moment").
        await post(second.url, "/notes", { title: `on ${to}` });
        await home.locator(".note-title", { hasText: `on ${to}` }).waitFor(CONVERGE_WAIT);
        await post(first.url, "/notes", { title: `on ${from} again` });
        await home.locator(".note-title", { hasText: `on ${from} again` }).waitFor(CONVERGE_WAIT);
        await expectConverged(home, HOME, second.url);
        expect(errors).toEqual([]);
      });
    });
  }
}

describeRedis("tabs that come back to the other demo of two on one Redis converge", () => {
  comesBack(RUNS, () => {
    const prefix = uniquePrefix();
    return { env: { REDIS_URL, REDIS_PREFIX: prefix }, cleanup: () => deleteKeys(prefix) };
  });
});

describePostgres("tabs that come back to the other demo of two on one PostgreSQL converge", () => {
  // Once per htmx version: the frameworks' part is the Redis runs'.
  const runs = RUNS.filter(([, to]) => to === "koa");
  comesBack(runs, () => {
    const prefix = uniqueTablePrefix();
    return { env: { DATABASE_URL, DATABASE_PREFIX: prefix }, cleanup: () => dropPrefix(prefix) };
  });
});
