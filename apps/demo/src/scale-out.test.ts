import { hasChromium, launchChromium } from "@burrow/test-utils/chromium";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "@burrow/test-utils/redis";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningDemo } from "./start.js";
import { recordStreams, startRunning } from "./testing.js";

// Two demos, one on express with htmx 4 pages and one on koa with htmx 2
// pages, share one Redis (REDIS_URL): a note created in a browser on either
// shows up live in browsers on both.

const WAIT = { timeout: 20_000 };

describeRedis("two demo instances on one Redis", () => {
  describe.skipIf(!hasChromium)("in Chromium", () => {
    const prefix = uniquePrefix();
    const demos: RunningDemo[] = [];
    let browser: Browser;

    beforeAll(async () => {
      for (const [framework, htmx] of [
        ["express", 4],
        ["koa", 2],
      ]) {
        demos.push(
          await startRunning({
            argv: [`--framework=${framework}`, `--htmx=${htmx}`, "--port=0"],
            env: { REDIS_URL, REDIS_PREFIX: prefix },
          }),
        );
      }
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      for (const demo of demos) await demo.close();
      await deleteKeys(prefix);
    });

    /** A page on `demo` whose stream is open and whose topics its server watches on Redis. */
    async function open(demo: RunningDemo): Promise<Page> {
      const page = await (await browser.newContext()).newPage();
      await page.addInitScript(recordStreams);
      await page.goto(demo.url);
      await page.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
      // Events published before the server's Redis subscription is in place are not for it.
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
      const [onExpress, onKoa] = demos as [RunningDemo, RunningDemo];
      for (const demo of demos) {
        await expect.poll(() => demo.broker.stats().backplane?.state, WAIT).toBe("ready");
      }
      const a = await open(onExpress);
      const b = await open(onKoa);

      // a: htmx 4 (hx-sse), b: htmx 2 (htmx-ext-sse).
      expect(await a.locator("[hx-sse\\:connect]").count()).toBe(1);
      expect(await b.locator("[sse-connect]").count()).toBe(1);
      await addNote(a, "posted on express");
      await b.locator("#notes .note-title", { hasText: "posted on express" }).waitFor(WAIT);
      await addNote(b, "posted on koa");
      await a.locator("#notes .note-title", { hasText: "posted on koa" }).waitFor(WAIT);

      for (const page of [a, b]) {
        // Each note once on each page, in the same order.
        const titles = await page.locator("#notes .note-title").allTextContents();
        expect(titles.filter((t) => t.includes("posted on")).sort()).toEqual([
          "posted on express",
          "posted on koa",
        ]);
      }
    });
  });
});
