import { mkdirSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, hasChromium, launchChromium } from "./chromium.js";
import type { RunningDemo } from "./start.js";
import { startRunning } from "./testing.js";

// End-to-end: the demo in Debian's Chromium (never a downloaded browser),
// once on express and once on koa. Every wait is on a DOM condition.

const ARTIFACTS = fileURLToPath(new URL("../../../artifacts/", import.meta.url));
const WAIT = { timeout: 20_000 };

/** What a page saw over SSE, recorded by an init script before htmx loads. */
interface SeenMessage {
  target: string;
  type: string;
  data: string;
}

declare global {
  interface Window {
    sseOpens: number;
    sseMessages: SeenMessage[];
    /** `htmx:evalDisallowedError` events: code htmx refused to evaluate. */
    evalRefusals: number;
    /** Directives of every Content-Security-Policy violation the page reported. */
    cspViolations: string[];
    htmx: { config: { allowScriptTags: boolean; allowEval: boolean } };
  }
}

for (const framework of ["express", "koa"] as const) {
  describe.skipIf(!hasChromium)(`the demo on ${framework} in Chromium`, () => {
    let browser: Browser;
    let demo: RunningDemo;
    const contexts: BrowserContext[] = [];

    const start = (port: number) =>
      startRunning({
        argv: [`--framework=${framework}`, `--port=${port}`, "--stats-interval=250"],
        reconnectWindowMs: 500,
      });

    beforeAll(async () => {
      demo = await start(0);
      browser = await launchChromium();
    });

    afterAll(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await demo?.close();
    });

    /** A fresh browser profile (its own cookies), optionally as a user and in a language. */
    async function newContext(cookies: { user?: string; lang?: string } = {}) {
      const context = await browser.newContext({ locale: "en-US" });
      contexts.push(context);
      const url = demo.url;
      const list = Object.entries(cookies).map(([name, value]) => ({ name, value, url }));
      if (list.length > 0) await context.addCookies(list);
      await context.addInitScript(() => {
        window.sseOpens = 0;
        window.sseMessages = [];
        window.evalRefusals = 0;
        window.cspViolations = [];
        document.addEventListener("htmx:evalDisallowedError", () => {
          window.evalRefusals++;
        });
        document.addEventListener("securitypolicyviolation", (e) => {
          window.cspViolations.push(e.violatedDirective);
        });
        document.addEventListener("htmx:sseOpen", () => {
          window.sseOpens++;
        });
        document.addEventListener("htmx:sseMessage", (e) => {
          const event = (e as CustomEvent<MessageEvent & { elt: Element }>).detail;
          window.sseMessages.push({
            target: (e.target as Element).id,
            type: event.type,
            data: String(event.data),
          });
        });
      });
      return context;
    }

    /** Opens `path` and waits until its event stream is open; records dialogs and console errors. */
    async function open(
      context: BrowserContext,
      path: string,
      dialogs: string[] = [],
      problems: string[] = [],
    ) {
      const page = await context.newPage();
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      const response = await page.goto(new URL(path, demo.url).href);
      expect(response?.status()).toBe(200);
      await page.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
      return page;
    }

    const messages = (page: Page) => page.evaluate(() => window.sseMessages);

    async function addNote(page: Page, title: string) {
      await page.fill('#notes-card input[name="title"]', title);
      await page.click("#notes-card button.primary");
    }

    it("pushes a note created in one page to every open page", async () => {
      const context = await newContext();
      const a = await open(context, "/");
      const b = await open(await newContext(), "/");

      await addNote(a, `from A on ${framework}`);
      await b.locator("#notes .note-title", { hasText: `from A on ${framework}` }).waitFor(WAIT);
      await a.locator("#notes .note-title", { hasText: `from A on ${framework}` }).waitFor(WAIT);

      await addNote(b, `from B on ${framework}`);
      await a.locator("#notes .note-title", { hasText: `from B on ${framework}` }).waitFor(WAIT);
      await b.locator("#notes .note-title", { hasText: `from B on ${framework}` }).waitFor(WAIT);
      // Each note once per page: the form's answer does not add it a second time.
      expect(
        await a.locator("#notes .note-title", { hasText: `from B on ${framework}` }).count(),
      ).toBe(1);
      // The form was answered with a fresh, empty one.
      expect(await b.inputValue('#notes-card input[name="title"]')).toBe("");

      // A blank title: the 422 answer (the form with its error) is swapped in, nothing published.
      await addNote(a, "   ");
      await a.locator("#notes-card .error", { hasText: "A note needs a title." }).waitFor(WAIT);
      expect(await b.locator("#notes .note").count()).toBe(await a.locator("#notes .note").count());
    });

    it("keeps project topics apart, and lets only members watch", async () => {
      const alice = await newContext({ user: "alice" });
      const p42 = await open(alice, "/projects/42");
      const p43 = await open(alice, "/projects/43");

      await p42.fill('input[name="status"]', "Shipping 42");
      await p42.selectOption('select[name="tone"]', "warn");
      await p42.click("button.primary");
      await p42.locator("#badge .badge.tone-warn", { hasText: "Shipping 42" }).waitFor(WAIT);

      // An update of 43 published after 42's: once 43's page has it, 42's would have come first.
      await p43.fill('input[name="status"]', "Blocked 43");
      await p43.selectOption('select[name="tone"]', "stop");
      await p43.click("button.primary");
      await p43.locator("#badge .badge.tone-stop", { hasText: "Blocked 43" }).waitFor(WAIT);

      const seen42 = await messages(p42);
      const seen43 = await messages(p43);
      expect(seen42.map((m) => m.type)).toEqual(["project:42"]);
      expect(seen43.map((m) => m.type)).toEqual(["project:43"]);
      expect(seen43.some((m) => m.data.includes("Shipping 42"))).toBe(false);
      expect(await p42.textContent("#badge")).not.toContain("Blocked 43");

      // bob is no member of 43: the page says so and the stream answers 403 (authorize).
      const bob = await newContext({ user: "bob" });
      const page = await bob.newPage();
      const response = await page.goto(new URL("/projects/43", demo.url).href);
      expect(response?.status()).toBe(403);
      await page.locator("#forbidden").waitFor(WAIT);
      const stream = await fetch(new URL("/projects/43/events", demo.url), {
        headers: { Cookie: "user=bob" },
      });
      expect(stream.status).toBe(403);
      await stream.body?.cancel();
      const ok = await fetch(new URL("/projects/42/events", demo.url), {
        headers: { Cookie: "user=bob" },
      });
      expect(ok.status).toBe(200);
      await ok.body?.cancel();
    });

    it("updates each swap target of one connection only from its own topic, and the live status", async () => {
      // Collected from before the page loads: nothing blocked by the CSP, no script error, no 404.
      const problems: string[] = [];
      const page = await open(await newContext(), "/", [], problems);
      const initialPublished = Number(await page.textContent('#stats [data-stat="published"]'));

      await page.fill('#status-card input[name="text"]', "Deploying v2");
      await page.click("#status-card button");
      await page.locator("#status .status-text", { hasText: "Deploying v2" }).waitFor(WAIT);
      await addNote(page, "a note, not a status");
      await page.locator("#notes .note-title", { hasText: "a note, not a status" }).waitFor(WAIT);

      expect(await page.textContent("#status")).toBe("Deploying v2");
      expect(await page.textContent("#notes")).not.toContain("Deploying v2");
      const seen = await messages(page);
      const byTarget = (id: string) =>
        new Set(seen.filter((m) => m.target === id).map((m) => m.type));
      expect([...byTarget("status")]).toEqual(["status"]);
      expect([...byTarget("notes")]).toEqual(["notifications"]);

      // The live status panel: broker.stats() pushed on topic "stats".
      await page.waitForFunction(
        (before) =>
          Number(document.querySelector('#stats [data-stat="published"]')?.textContent) > before &&
          Number(document.querySelector('#stats [data-stat="clients"]')?.textContent) >= 1,
        initialPublished,
        WAIT,
      );
      expect([...byTarget("stats")].every((type) => type === "stats")).toBe(true);
      expect(problems).toEqual([]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}demo-${framework}.png`, fullPage: true });
    });

    it("delivers the background job's fragment in each user's language", async () => {
      const german = await newContext({ user: "alice" });
      const de = await open(german, "/");
      // Switch the language with the page's own button (a form POST, then a redirect).
      await de.click('form.lang button[value="de"]');
      await de.waitForFunction(() => document.documentElement.lang === "de", undefined, WAIT);
      await de.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
      const en = await open(await newContext({ user: "bob", lang: "en" }), "/");

      await de.click("#job-card button");
      await de.locator("#job-queued", { hasText: "Bericht Nr." }).waitFor(WAIT);
      const report = de.locator('#job-results li[data-locale="de"]', { hasText: "fertig" });
      await report.waitFor(WAIT);
      expect(await report.textContent()).toMatch(
        /Bericht Nr\. \d+ fertig: \d+ Notiz(en)?, 2 Projekte\./,
      );

      await en.click("#job-card button");
      await en.locator("#job-queued", { hasText: "queued" }).waitFor(WAIT);
      const english = en.locator('#job-results li[data-locale="en"]', { hasText: "ready" });
      await english.waitFor(WAIT);
      expect(await english.textContent()).toMatch(/Report #\d+ ready: \d+ notes?, 2 projects\./);
      // Each user's topic carries only that user's reports.
      expect(await de.locator("#job-results li").count()).toBe(1);
      expect(await en.locator("#job-results li").count()).toBe(1);
    });

    it("shows a note titled with markup as text, in every page, and runs nothing", async () => {
      const xss = "<img src=x onerror=alert(1)>";
      const dialogs: string[] = [];
      const a = await open(await newContext(), "/", dialogs);
      const b = await open(await newContext(), "/", dialogs);
      await addNote(a, xss);
      for (const page of [a, b]) {
        await page.locator("#notes .note-title", { hasText: xss }).waitFor(WAIT);
        expect(await page.locator("#notes img").count()).toBe(0);
      }
      // Rendered by the server into a fresh page: text too.
      await b.reload();
      await b.locator("#notes .note-title", { hasText: xss }).last().waitFor(WAIT);
      expect(await b.locator("#notes img").count()).toBe(0);
      expect(dialogs).toEqual([]);
    });

    it("runs no script and evaluates nothing that slips into a fragment (htmx config)", async () => {
      const dialogs: string[] = [];
      const page = await open(await newContext(), "/", dialogs);
      expect(
        await page.evaluate(() => ({
          allowScriptTags: window.htmx.config.allowScriptTags,
          allowEval: window.htmx.config.allowEval,
        })),
      ).toEqual({ allowScriptTags: false, allowEval: false });

      // Markup that got past the templates, published raw as an unescaped fragment would be:
      // an inline script (the CSP blocks it), a script from 'self' (the CSP allows it) and an
      // hx-on handler (htmx would eval it).
      const id = `slipped-${framework}`;
      demo.broker.publish("notifications", {
        data: `<li id="${id}" class="note" hx-on:click="document.body.dataset.ran = 'hx-on'"><script>document.body.dataset.ran = 'inline'</script><script src="/assets/sse.js"></script>slipped</li>`,
      });
      const slipped = page.locator(`#${id}`);
      await slipped.waitFor(WAIT);
      // htmx removed both scripts before the swap: nothing to run, nothing for the CSP to block.
      expect(await page.locator(`#${id} script`).count()).toBe(0);
      await slipped.click();
      await page.waitForFunction(() => window.evalRefusals >= 1, undefined, WAIT);
      expect(await page.evaluate(() => document.body.dataset.ran)).toBeUndefined();
      expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
      expect(dialogs).toEqual([]);
    });

    it("resumes from Last-Event-ID after its connection drops, missing nothing", async () => {
      const sockets: Socket[] = [];
      const track = (req: IncomingMessage) => {
        if (req.url?.startsWith("/events")) sockets.push(req.socket);
      };
      demo.server.on("request", track);
      try {
        const page = await open(await newContext(), "/");
        // Seen at least one event with an id (the live status), so the browser has a Last-Event-ID.
        await page.waitForFunction(() => window.sseMessages.length > 0, undefined, WAIT);
        const resumedBefore = demo.broker.stats().resumed;
        const dropped = sockets.length;
        expect(dropped).toBeGreaterThanOrEqual(1);
        for (const socket of sockets) socket.destroy();
        const title = `while away on ${framework}`;
        const res = await fetch(new URL("/notes", demo.url), {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ title }),
        });
        expect(res.status).toBe(200);
        await page.locator("#notes .note-title", { hasText: title }).waitFor(WAIT);
        // The browser reconnected by itself, with Last-Event-ID, and the broker resumed it.
        expect(sockets.length).toBeGreaterThan(dropped);
        expect(demo.broker.stats().resumed).toBeGreaterThan(resumedBefore);
        expect(await page.locator("#notes .note-title", { hasText: title }).count()).toBe(1);
      } finally {
        demo.server.off("request", track);
      }
    });

    it("reconnects by itself after a server restart and gets new events", async () => {
      const page = await open(await newContext(), "/");
      const port = new URL(demo.url).port;
      await demo.close();
      demo = await start(Number(port));
      // The same page, no reload: its EventSource opens again against the new server.
      await page.waitForFunction(() => window.sseOpens >= 2, undefined, WAIT);
      await addNote(page, `after restart on ${framework}`);
      await page
        .locator("#notes .note-title", { hasText: `after restart on ${framework}` })
        .waitFor(WAIT);
    });
  });
}

if (!hasChromium) {
  describe("the demo in Chromium", () => {
    it.skip(`skipped: ${CHROMIUM} is missing (apt-get install chromium)`, () => {});
  });
}
