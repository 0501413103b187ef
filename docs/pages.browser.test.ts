/**
 * The site's pages in Chromium, with the real htmx from node_modules: each
 * runnable example that serves a page is run as a user runs it, its page
 * opened, a note typed into its form and added, and the note appears on
 * every open page, htmx 4's and htmx 2's alike (the htmx recipe serves both
 * from one endpoint).
 */
import type { ChildProcess } from "node:child_process";
import { startExample } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { extractRunnables } from "./scripts/runnable.js";

const runnables = extractRunnables();
const browser = chromiumPerFile();
const children: ChildProcess[] = [];
const pages: Page[] = [];

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** Opens `url` in a new page; resolves once its stream on `/events` answered. */
async function open(url: string): Promise<Page> {
  const page = await browser().newPage();
  pages.push(page);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const stream = page.waitForResponse((response) => response.url().endsWith("/events"));
  await page.goto(url);
  expect((await stream).status()).toBe(200);
  expect(errors).toEqual([]);
  return page;
}

describe.skipIf(!hasChromium)("the site's pages in Chromium", () => {
  it.each([
    ["start-core", ["/"]],
    ["start-express", ["/"]],
    ["start-koa", ["/"]],
    ["start-fastify", ["/"]],
    ["recipe-hono", ["/"]],
    ["recipe-htmx", ["/", "/v2"]],
  ])("%s: a note added on the page appears on every open page (%s)", async (name, paths) => {
    const { child, url } = await startExample(runnables.get(name)!.file);
    children.push(child);
    const opened = [];
    for (const path of paths) opened.push(await open(`${url}${path}`));
    const [first] = opened;
    await first!.fill("input[name=title]", "<b>hello</b>");
    await first!.click("button");
    for (const page of opened) {
      await page.waitForFunction(() => document.querySelectorAll("li").length === 1);
      expect(await page.locator("li").innerHTML()).toBe("&lt;b&gt;hello&lt;/b&gt;");
    }
  });
});
