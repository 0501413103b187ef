import { recordEvents } from "@burrow/test-utils";
import { hasChromium, launchChromium } from "@burrow/test-utils/chromium";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  uniquePrefix as uniqueTablePrefix,
} from "@burrow/test-utils/postgres";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "@burrow/test-utils/redis";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post } from "./convergence-testing.js";
import type { Framework } from "./shared/plugin.js";
import type { RunningDemo } from "./start.js";
import { recordStreams, startRunning } from "./testing.js";

// Two demos, one with htmx 4 pages and one with htmx 2 pages, share one
// Redis (REDIS_URL: express and fastify) or one PostgreSQL (DATABASE_URL:
// fastify and koa): a note created in a browser on either shows up live in
// browsers on both, and "viewing now" lists the viewers of both. Every
// framework is in one pair.

const WAIT = { timeout: 20_000 };

/**
 * Two demos (`frameworks[0]` with htmx 4 pages, `frameworks[1]` with htmx 2
 * pages) started with `backplane(i)`'s options, sharing notes live in
 * Chromium; `cleanup` after.
 */
function sharesNotes(
  frameworks: readonly [Framework, Framework],
  backplane: (index: number) => { argv?: string[]; env: Record<string, string | undefined> },
  cleanup: () => Promise<void>,
  /** Also check "viewing now" across the two servers (a backplane that shares presence). */
  sharedPresence = false,
): void {
  const demos: RunningDemo[] = [];

  beforeAll(async () => {
    for (const [framework, htmx] of [
      [frameworks[0], 4],
      [frameworks[1], 2],
    ]) {
      const { argv = [], env } = backplane(demos.length);
      demos.push(
        await startRunning({
          argv: [
            `--framework=${framework}`,
            `--htmx=${htmx}`,
            "--port=0",
            "--stats-interval=200",
            ...argv,
          ],
          env,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const demo of demos) await demo.close();
    await cleanup();
  });

  it("keeps one state: a page loaded from either shows the notes, status and badge set on the other", async () => {
    const [first, second] = demos as [RunningDemo, RunningDemo];
    const page = async (demo: RunningDemo, path: string) =>
      (await fetch(new URL(path, demo.url))).text();
    await post(first.url, "/notes", { title: `stored by ${frameworks[0]}` });
    await post(second.url, "/status", { text: `set on ${frameworks[1]}` });
    await post(first.url, "/projects/42", { status: "Shared", tone: "warn" });
    for (const demo of demos) {
      const home = await page(demo, "/");
      expect(home).toContain(`stored by ${frameworks[0]}`);
      expect(home).toContain(`<span class="status-text">set on ${frameworks[1]}</span>`);
      expect(await page(demo, "/projects/42")).toContain("Shared · #2");
    }
  });

  // The live status is broker.stats() of the process serving the page, published on topic
  // "stats", which the demo keeps on its process (TopicPolicy.local): the backplane carries
  // every other topic to every process, but each demo's pages get its own figures only, and
  // the panel settles on what a fresh load shows.
  it("shows a page's live status of its own process only (its topic is local, its figures per process)", async () => {
    const [first, second] = demos as [RunningDemo, RunningDemo];
    // Two streams on the first demo, one on the second: their figures differ.
    const clients = [first, first, second].map((demo) =>
      recordEvents(new URL("/events", demo.url).href, ["stats"]),
    );
    try {
      const onSecond = clients[2]!;
      await onSecond.waitForCount(12);
      const own = String(second.broker.stats().clients);
      const shown = onSecond.events.map((e) => /data-stat="clients">(\d+)/.exec(e.data)?.[1]);
      // What a fresh load of the second demo shows, in every update after the first ones.
      expect(shown.slice(4)).toEqual(shown.slice(4).map(() => own));
    } finally {
      for (const client of clients) client.close();
    }
  });

  describe.skipIf(!hasChromium)("in Chromium", () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
    });

    /** A page on `demo` whose stream is open and whose topics its server watches on the backplane. */
    async function open(demo: RunningDemo, path = "/", user = "alice"): Promise<Page> {
      const context = await browser.newContext();
      await context.addCookies([{ name: "user", value: user, url: demo.url }]);
      const page = await context.newPage();
      await page.addInitScript(recordStreams);
      await page.goto(new URL(path, demo.url).href);
      await page.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
      // Events published before the server's backplane subscription is in place are not for it.
      await expect
        .poll(() => demo.broker.stats().backplane?.topics ?? 0, WAIT)
        .toBeGreaterThanOrEqual(2);
      return page;
    }

    async function addNote(page: Page, title: string): Promise<void> {
      await page.fill('#notes-card input[name="title"]', title);
      await page.click("#notes-card button.primary");
    }

    it("shares notes live between browsers on the two servers", async () => {
      const [first, second] = demos as [RunningDemo, RunningDemo];
      const [onFirst, onSecond] = [`posted on ${frameworks[0]}`, `posted on ${frameworks[1]}`];
      for (const demo of demos) {
        await expect.poll(() => demo.broker.stats().backplane?.state, WAIT).toBe("ready");
      }
      const a = await open(first);
      const b = await open(second);

      // a: htmx 4 (hx-sse), b: htmx 2 (htmx-ext-sse).
      expect(await a.locator("[hx-sse\\:connect]").count()).toBe(1);
      expect(await b.locator("[sse-connect]").count()).toBe(1);
      await addNote(a, onFirst);
      await b.locator("#notes .note-title", { hasText: onFirst }).waitFor(WAIT);
      await addNote(b, onSecond);
      await a.locator("#notes .note-title", { hasText: onSecond }).waitFor(WAIT);

      for (const page of [a, b]) {
        // Each note once on each page, in the same order.
        const titles = await page.locator("#notes .note-title").allTextContents();
        expect(titles.filter((t) => t.includes("posted on")).sort()).toEqual(
          [onFirst, onSecond].sort(),
        );
      }
    });

    if (sharedPresence) {
      it("shows who is viewing a project across the two servers, and a closed window leaving", async () => {
        const [first, second] = demos as [RunningDemo, RunningDemo];
        const listed = (page: Page, user: string) =>
          page.locator(`#viewing li[data-member=${user}]`).waitFor({ ...WAIT, state: "attached" });
        const alice = await open(first, "/projects/42", "alice");
        const bob = await open(second, "/projects/42", "bob");
        await listed(alice, "bob");
        await listed(bob, "alice");
        // Grouped per process: the order across two servers is not fixed.
        expect((await bob.locator("#viewing li").allTextContents()).sort()).toEqual([
          "alice",
          "bob",
        ]);
        // bob's window closes on the second server: alice, on the first, sees him leave.
        await bob.context().close();
        await alice.locator("#viewing li[data-member=bob]").waitFor({ ...WAIT, state: "detached" });
        expect(await alice.locator("#viewing li").allTextContents()).toEqual(["alice"]);
        await alice.context().close();
      });
    }
  });
}

describeRedis("two demo instances on one Redis", () => {
  const prefix = uniquePrefix();
  sharesNotes(
    ["express", "fastify"],
    () => ({ env: { REDIS_URL, REDIS_PREFIX: prefix } }),
    () => deleteKeys(prefix),
    true,
  );
});

describePostgres("two demo instances on one PostgreSQL", () => {
  const prefix = uniqueTablePrefix();
  // One given --database-url, the other DATABASE_URL.
  sharesNotes(
    ["fastify", "koa"],
    (index) =>
      index === 0
        ? { argv: [`--database-url=${DATABASE_URL}`], env: { DATABASE_PREFIX: prefix } }
        : { env: { DATABASE_URL, DATABASE_PREFIX: prefix } },
    () => dropPrefix(prefix),
    true,
  );
});
