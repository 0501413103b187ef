import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "@burrow/test-utils";
import { CHROMIUM, hasChromium, launchChromium } from "@burrow/test-utils/chromium";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTMX, HTMX_VERSIONS, type HtmxVersion } from "./shared/htmx.js";
import { FRAMEWORKS } from "./shared/plugin.js";
import type { RunningDemo } from "./start.js";
import {
  recordStreams,
  type SeenMessage,
  type StreamRequest,
  startRunning,
  trackStreams,
} from "./testing.js";

// End-to-end: the demo in Debian's Chromium (never a downloaded browser), on
// express, koa and fastify, with htmx 4 (hx-sse) and htmx 2 (htmx-ext-sse) pages. One
// browser for the whole file; per framework and htmx version, two windows
// (alice and bob) carry the home page's scenarios from test to test, in
// order. Every wait is on a DOM or server condition.

const ARTIFACTS = fileURLToPath(new URL("../../../artifacts/", import.meta.url));
const WAIT = { timeout: 20_000 };
const XSS = "<img src=x onerror=alert(1)>";

let browser: Browser;
beforeAll(async () => {
  if (hasChromium) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const note = (page: Page, title: string) => page.locator("#notes .note-title", { hasText: title });
const messages = (page: Page) => page.evaluate(() => window.sseMessages);
/** A project stream's "viewing now" message: htmx 2's named presence event, htmx 4's partial. */
const isPresence = (m: SeenMessage) =>
  m.type.startsWith("presence:") || m.data.startsWith('<hx-partial hx-target="#viewing"');

async function addNote(page: Page, title: string): Promise<void> {
  await page.fill('#notes-card input[name="title"]', title);
  await page.click("#notes-card button.primary");
}

/** Emulates the tab going to the background (`document.hidden`) or coming back. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => value });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

for (const framework of FRAMEWORKS) {
  for (const htmx of HTMX_VERSIONS) {
    describe.skipIf(!hasChromium)(
      `the demo on ${framework}, htmx ${htmx} pages, in Chromium`,
      () => {
        const { prefix } = HTMX[htmx];
        const other: HtmxVersion = htmx === 4 ? 2 : 4;
        let demo: RunningDemo;
        const contexts: BrowserContext[] = [];
        /** Every request for a home stream or htmx 4's report stream, in order. */
        const streams: StreamRequest[] = [];
        let untrack = () => {};
        /** Console errors and dialogs of every page, from before it loads. */
        const problems: string[] = [];
        const dialogs: string[] = [];
        // The two windows of the home page's tests: alice (switched to German on the way) and bob.
        let alice: Page;
        let bob: Page;

        const start = (port: number, version: HtmxVersion = htmx) =>
          startRunning({
            argv: [
              `--framework=${framework}`,
              `--htmx=${version}`,
              `--port=${port}`,
              "--stats-interval=250",
            ],
            reconnectWindowMs: 500,
            // A reload must come back within the debounce for "viewing now" not to flap:
            // 3 s leaves a loaded machine's Chromium room (the demo's own default is 1 s).
            presenceDebounceMs: 3000,
          });

        /** A fresh browser profile (its own cookies), optionally as a user and in a language. */
        async function newContext(cookies: { user?: string; lang?: string } = {}) {
          const context = await browser.newContext({ locale: "en-US" });
          contexts.push(context);
          const url = demo.url;
          const list = Object.entries(cookies).map(([name, value]) => ({ name, value, url }));
          if (list.length > 0) await context.addCookies(list);
          await context.addInitScript(recordStreams);
          return context;
        }

        /** Opens `path` and waits until its event stream is open. */
        async function open(context: BrowserContext, path: string): Promise<Page> {
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

        /** Adds a note as another client would (no page of this test). */
        async function postNote(title: string): Promise<void> {
          const res = await fetch(new URL("/notes", demo.url), {
            method: "POST",
            headers: { "Content-Type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ title }),
          });
          expect(res.status).toBe(200);
        }

        beforeAll(async () => {
          demo = await start(0);
          untrack = trackStreams(demo, [`${prefix}/events`, "/htmx4/jobs"], streams);
          alice = await open(await newContext({ user: "alice" }), "/");
          bob = await open(await newContext({ user: "bob", lang: "en" }), "/");
        }, 60_000);

        afterAll(async () => {
          untrack();
          for (const context of contexts) await context.close().catch(() => {});
          await demo?.close();
        });

        it("shows a note added in one window in the other, once, and a blank one's error in its form", async () => {
          expect(
            await alice.locator(`[${htmx === 4 ? "hx-sse\\:connect" : "sse-connect"}]`).count(),
          ).toBe(1);
          const fromAlice = `from alice on ${framework}`;
          await addNote(alice, fromAlice);
          await note(bob, fromAlice).waitFor(WAIT);
          await note(alice, fromAlice).waitFor(WAIT);

          const fromBob = `from bob on ${framework}`;
          await addNote(bob, fromBob);
          await note(alice, fromBob).waitFor(WAIT);
          await note(bob, fromBob).waitFor(WAIT);
          // Each note once per page: the form's answer does not add it a second time.
          expect(await note(alice, fromBob).count()).toBe(1);
          expect(await note(bob, fromBob).count()).toBe(1);
          // The form was answered with a fresh, empty one.
          expect(await bob.inputValue('#notes-card input[name="title"]')).toBe("");

          // A blank title: the 422 answer (the form with its error) is swapped in, nothing published.
          await addNote(bob, "   ");
          await bob
            .locator("#notes-card .error", { hasText: "A note needs a title." })
            .waitFor(WAIT);
          expect(await bob.locator("#notes .note").count()).toBe(
            await alice.locator("#notes .note").count(),
          );
        });

        it("shows a note titled with markup as text in every window, and runs nothing", async () => {
          await addNote(alice, XSS);
          for (const page of [alice, bob]) {
            await note(page, XSS).waitFor(WAIT);
            expect(await page.locator("#notes img").count()).toBe(0);
          }
          expect(dialogs).toEqual([]);
        });

        it("updates each target of the one stream from its own topic only, and the live status", async () => {
          const published = Number(await bob.textContent('#stats [data-stat="published"]'));
          await bob.fill('#status-card input[name="text"]', "Deploying v2");
          await bob.click("#status-card button");
          for (const page of [bob, alice]) {
            await page.locator("#status .status-text", { hasText: "Deploying v2" }).waitFor(WAIT);
          }
          expect(await bob.textContent("#status")).toBe("Deploying v2");
          expect(await bob.textContent("#notes")).not.toContain("Deploying v2");

          // The live status panel: broker.stats() pushed on topic "stats".
          await bob.waitForFunction(
            (before) =>
              Number(document.querySelector('#stats [data-stat="published"]')?.textContent) >
                before &&
              Number(document.querySelector('#stats [data-stat="clients"]')?.textContent) >= 2,
            published,
            WAIT,
          );

          const seen = await messages(bob);
          if (htmx === 2) {
            // Named events: each sse-swap element takes only its own type.
            const types = (id: string) =>
              new Set(seen.filter((m) => m.target === id).map((m) => m.type));
            expect([...types("status")]).toEqual(["status"]);
            expect([...types("notes")]).toEqual(["notifications"]);
            expect([...types("stats")]).toEqual(["stats"]);
          } else {
            // Unnamed messages on the stream element, each in the partial of its topic's target.
            expect(new Set(seen.map((m) => `${m.target} ${m.type}`))).toEqual(new Set(["div "]));
            const wrappers = (text: string) =>
              new Set(seen.filter((m) => m.data.includes(text)).map((m) => m.data.split(">")[0]));
            expect(wrappers("Deploying v2")).toEqual(new Set(['<hx-partial hx-target="#status"']));
            expect(wrappers("from alice")).toEqual(
              new Set(['<hx-partial hx-target="#notes" hx-swap="beforeend"']),
            );
            expect(wrappers('data-stat="published"')).toEqual(
              new Set(['<hx-partial hx-target="#stats"']),
            );
          }
          // From before the pages loaded: nothing blocked by the CSP, no script error, no 404
          // (only Chromium's note of the blank note's 422 above).
          expect(problems.filter((text) => !text.includes("status of 422"))).toEqual([]);

          mkdirSync(ARTIFACTS, { recursive: true });
          await bob.screenshot({
            path: `${ARTIFACTS}demo-${framework}-htmx${htmx}.png`,
            fullPage: true,
          });
        });

        it("runs no script and no hx-on handler that slips into a fragment", async () => {
          // Markup that got past the templates, published raw as an unescaped fragment would be
          // (in a note's event: its own partial): an inline script, a script from the demo's own
          // origin, and an hx-on handler.
          const id = `slipped-${framework}-${htmx}`;
          const own = `/assets/${htmx === 4 ? "hx-sse.js" : "sse.js"}`;
          demo.broker.publish("notifications", {
            data: `<hx-partial hx-target="#notes" hx-swap="beforeend"><li id="${id}" class="note" hx-on:click="document.body.dataset.ran = 'hx-on'"><script>document.body.dataset.ran = 'inline'</script><script src="${own}"></script>slipped</li></hx-partial>`,
          });
          const slipped = bob.locator(`#${id}`);
          await slipped.waitFor(WAIT);
          await slipped.click();
          if (htmx === 2) {
            // htmx 2's config (allowScriptTags, allowEval off): it removed both scripts before the
            // swap and refused to evaluate the handler; nothing reached the CSP.
            expect(await bob.locator(`#${id} script`).count()).toBe(0);
            await bob.waitForFunction(() => window.evalRefusals >= 1, undefined, WAIT);
            expect(await bob.evaluate(() => window.cspViolations)).toEqual([]);
          } else {
            // htmx 4 re-creates both scripts and evaluates hx-on: the CSP blocks all three (the
            // scripts lack the page's nonce; eval is not allowed).
            // The scripts were re-created at the swap, before the click that evaluates hx-on.
            await bob.waitForFunction(
              () => window.cspViolations.includes("script-src eval"),
              undefined,
              WAIT,
            );
            expect((await bob.evaluate(() => window.cspViolations)).sort()).toEqual(
              [
                "script-src eval",
                "script-src-elem inline",
                `script-src-elem ${new URL(own, demo.url).href}`,
              ].sort(),
            );
          }
          expect(await bob.evaluate(() => document.body.dataset.ran)).toBeUndefined();
          expect(dialogs).toEqual([]);
        });

        it(
          htmx === 4
            ? "streams the report's progress into the page, then the report arrives in each user's language"
            : "delivers the background report in each user's language",
          async () => {
            // alice switches to German with the page's own button (a form POST, then a redirect).
            await alice.click('form.lang button[value="de"]');
            await alice.waitForFunction(
              () => document.documentElement.lang === "de",
              undefined,
              WAIT,
            );
            await alice.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
            // Rendered by the server into a fresh page, the markup title is text too.
            await note(alice, XSS).first().waitFor(WAIT);
            expect(await alice.locator("#notes img").count()).toBe(0);

            await alice.click("#job-card button");
            const report = alice.locator('#job-results li[data-locale="de"]', {
              hasText: "fertig",
            });
            await report.waitFor(WAIT);
            const text = (await report.textContent()) ?? "";
            expect(text).toMatch(/^Bericht Nr\. \d+ fertig: \d+ Notiz(en)?, 2 Projekte\./);
            const id = /Nr\. (\d+)/.exec(text)?.[1];
            if (htmx === 2) {
              expect(await alice.textContent("#job-queued")).toMatch(
                /^Bericht Nr\. \d+ eingeplant/,
              );
            } else {
              await alice
                .locator("#job-queued", { hasText: `Bericht Nr. ${id} ist fertig` })
                .waitFor(WAIT);
              // The answer to the button's POST, message by message: queued, progress, ready.
              const answer = (await messages(alice)).filter((m) => m.target === "form");
              expect(answer.map((m) => m.type)).toEqual(["", "", "", "", "", ""]);
              expect(answer.map((m) => m.data)).toEqual([
                expect.stringMatching(new RegExp(`^Bericht Nr\\. ${id} eingeplant`)),
                ...[25, 50, 75, 100].map(
                  (percent) =>
                    `<progress value="${percent}" max="100"></progress> Bericht Nr. ${id}: ${percent} % erledigt…`,
                ),
                `<span class="job-ready">Bericht Nr. ${id} ist fertig, siehe unten.</span>`,
              ]);
            }

            await bob.click("#job-card button");
            const english = bob.locator('#job-results li[data-locale="en"]', { hasText: "ready" });
            await english.waitFor(WAIT);
            expect(await english.textContent()).toMatch(
              /^Report #\d+ ready: \d+ notes?, 2 projects\./,
            );
            // Each user's topic carries only that user's reports.
            expect(await alice.locator("#job-results li").count()).toBe(1);
            expect(await bob.locator("#job-results li").count()).toBe(1);
            if (htmx === 4) {
              // One request per click: htmx 4 does not reconnect a stream it did not open with hx-sse:connect.
              expect(streams.filter((r) => r.url === "/htmx4/jobs").map((r) => r.method)).toEqual([
                "POST",
                "POST",
              ]);
            }
          },
        );

        it("resumes from Last-Event-ID when its connection drops, missing nothing", async () => {
          const live = streams.filter(
            (r) => r.url.startsWith(`${prefix}/events`) && !r.socket.destroyed,
          );
          expect(live).toHaveLength(2);
          const before = streams.length;
          const resumed = demo.broker.stats().resumed;
          for (const request of live) request.socket.destroy();
          const title = `while away on ${framework}`;
          await postNote(title);
          for (const page of [alice, bob]) {
            await note(page, title).waitFor(WAIT);
            expect(await note(page, title).count()).toBe(1);
          }
          // Both pages reconnected by themselves, with Last-Event-ID, and the broker resumed them.
          const again = streams.slice(before);
          expect(again.map((r) => r.user).sort()).toEqual(["alice", "bob"]);
          expect(again.every((r) => r.lastEventId !== undefined)).toBe(true);
          expect(demo.broker.stats().resumed).toBe(resumed + 2);
        });

        // htmx 4 only: htmx 2's extension keeps a hidden tab's stream open.
        if (htmx === 4) {
          it("pauses a background tab's stream and, when the tab is back, delivers what it missed", async () => {
            const clients = demo.broker.stats().clients;
            await setHidden(bob, true);
            await waitFor(
              () => demo.broker.stats().clients === clients - 1,
              "the hidden tab to cancel its stream",
            );
            const before = streams.length;
            const titles = [`hidden 1 on ${framework}`, `hidden 2 on ${framework}`];
            for (const title of titles) await postNote(title);
            await note(alice, titles[1]!).waitFor(WAIT);
            expect(await note(bob, titles[0]!).count()).toBe(0);

            await setHidden(bob, false);
            for (const title of titles) {
              await note(bob, title).waitFor(WAIT);
              expect(await note(bob, title).count()).toBe(1);
            }
            const back = streams.slice(before);
            expect(back.map((r) => r.user)).toEqual(["bob"]);
            expect(back[0]?.lastEventId).toMatch(/-\d+$/);
          });
        }

        it("keeps project topics apart, and lets only members watch a project (page and stream)", async () => {
          // First, so that bob's stream on 42 has left (after the presence debounce) by the next
          // test while this one goes on.
          // bob is no member of 43: the page says so and the stream answers 403 (authorize).
          const page = await (await newContext({ user: "bob" })).newPage();
          const response = await page.goto(new URL("/projects/43", demo.url).href);
          expect(response?.status()).toBe(403);
          await page.locator("#forbidden").waitFor(WAIT);
          for (const [id, status] of [
            [43, 403],
            [42, 200],
          ] as const) {
            const stream = await fetch(new URL(`${prefix}/projects/${id}/events`, demo.url), {
              headers: { Cookie: "user=bob" },
            });
            expect(stream.status).toBe(status);
            await stream.body?.cancel();
          }

          const context = await newContext({ user: "alice" });
          const p42 = await open(context, "/projects/42");
          const p43 = await open(context, "/projects/43");

          await p42.fill('input[name="status"]', "Shipping 42");
          await p42.selectOption('select[name="tone"]', "warn");
          await p42.click("button.primary");
          await p42.locator("#badge .badge.tone-warn", { hasText: "Shipping 42" }).waitFor(WAIT);

          // An update of 43 published after 42's: once 43's page has it, 42's would have come first.
          await p43.fill('input[name="status"]', "Blocked 43");
          await p43.selectOption('select[name="tone"]', "stop");
          await p43.click("button.primary");
          await p43.locator("#badge .badge.tone-stop", { hasText: "Blocked 43" }).waitFor(WAIT);

          // htmx 2: named project:<id>, for sse-swap; htmx 4: unnamed, swapped into the badge.
          const type = (id: number) => (htmx === 2 ? `project:${id}` : "");
          // htmx 2's streams start with the badge's current state (snapshotOnConnect): here its
          // snapshot, which replaces the badge's content; htmx 4's page URL carries a cursor.
          const afterConnect = (seen: SeenMessage[], id: number) => {
            if (htmx === 4) return seen;
            expect(seen[0]?.type).toBe(`project:${id}`);
            expect(seen[0]?.data).toMatch(/^<hx-partial hx-target="#badge" hx-swap="innerHTML">/);
            return seen.slice(1);
          };
          const seen42 = afterConnect(
            (await messages(p42)).filter((m) => !isPresence(m)),
            42,
          );
          const seen43 = afterConnect(
            (await messages(p43)).filter((m) => !isPresence(m)),
            43,
          );
          expect(seen42.map((m) => [m.target, m.type])).toEqual([["badge", type(42)]]);
          expect(seen43.map((m) => [m.target, m.type])).toEqual([["badge", type(43)]]);
          expect(seen43[0]?.data).toContain("Blocked 43");
          expect(await p42.textContent("#badge")).not.toContain("Blocked 43");
        });

        it("shows who is viewing a project now: alice and bob see each other, a reload does not flap, a closed window leaves", async () => {
          const viewing = (page: Page) =>
            page.$$eval("#viewing li", (items) => items.map((li) => li.textContent ?? ""));
          // The previous test's stream of bob on project 42 has left (debounceMs after it closed):
          // else alice's page would show him, then his leave, then his join below.
          await waitFor(
            async () => !(await demo.broker.members("project:42")).some((m) => m.id === "bob"),
            "bob's earlier stream on project 42 to leave",
          );
          const aliceContext = await newContext({ user: "alice" });
          const a42 = await open(aliceContext, "/projects/42");
          await a42.waitForFunction(
            () => document.querySelectorAll("#viewing li[data-member=alice]").length === 1,
            undefined,
            WAIT,
          );
          expect(await viewing(a42)).not.toContain("bob");
          // Every list alice's page shows from now on, in order.
          await a42.evaluate(() => {
            const seen: string[][] = [];
            (window as unknown as { viewingSeen: string[][] }).viewingSeen = seen;
            const list = document.getElementById("viewing");
            if (list === null) throw new Error("no #viewing");
            new MutationObserver(() => {
              seen.push(Array.from(list.querySelectorAll("li"), (li) => li.textContent ?? ""));
            }).observe(list, { childList: true, subtree: true, characterData: true });
          });
          const bobContext = await newContext({ user: "bob" });
          const b42 = await bobContext.newPage();
          // bob's page is rendered with alice already listed (broker.members), before any event.
          const rendered = await (await b42.goto(new URL("/projects/42", demo.url).href))?.text();
          expect(rendered).toContain('<li data-member="alice">alice</li>');
          await b42.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
          await b42.waitForFunction(
            () => document.querySelectorAll("#viewing li").length === 2,
            undefined,
            WAIT,
          );
          await a42.waitForFunction(
            () => document.querySelectorAll("#viewing li[data-member=bob]").length === 1,
            undefined,
            WAIT,
          );
          expect(await viewing(a42)).toEqual(["alice", "bob"]);
          expect(await viewing(b42)).toEqual(["alice", "bob"]);

          // bob reloads: back within the debounce (3 s here), so nobody sees him leave and come back.
          await b42.reload();
          await b42.waitForFunction(() => window.sseOpens >= 1, undefined, WAIT);
          await waitFor(
            async () =>
              (await demo.broker.members("project:42")).some(
                (m) => m.id === "bob" && m.connections === 1,
              ),
            "bob's new stream",
          );
          // A badge update after the reload, seen by both: the pages are live.
          await a42.fill('input[name="status"]', "Viewed by two");
          await a42.click("button.primary");
          await b42.locator("#badge .badge", { hasText: "Viewed by two" }).waitFor(WAIT);

          // bob closes his window: alice sees him leave (once the debounce has passed).
          await bobContext.close();
          await a42.waitForFunction(
            () => document.querySelectorAll("#viewing li[data-member=bob]").length === 0,
            undefined,
            WAIT,
          );
          expect(await viewing(a42)).not.toContain("bob");
          const seen = await a42.evaluate(
            () => (window as unknown as { viewingSeen: string[][] }).viewingSeen,
          );
          // Lists seen: with bob until he closed his window, then without him; never a flap.
          const firstWithout = seen.findIndex((list) => !list.includes("bob"));
          expect(seen.slice(0, firstWithout).every((list) => list.includes("bob"))).toBe(true);
          expect(seen.slice(firstWithout).every((list) => !list.includes("bob"))).toBe(true);
          expect(seen.findIndex((list) => list.includes("bob"))).toBe(0);
          await aliceContext.close();
        });

        it(`reconnects by itself after a restart on htmx ${other}, and shares notes with an htmx ${other} page on the one broker`, async () => {
          const opens = await alice.evaluate(() => window.sseOpens);
          const port = Number(new URL(demo.url).port);
          untrack();
          await demo.close();
          // The deploy switches the pages' htmx version; both versions' streams stay served.
          demo = await start(port, other);
          await alice.waitForFunction((n) => window.sseOpens > n, opens, WAIT);

          const fresh = await open(await newContext({ user: "bob" }), "/");
          expect(await fresh.textContent("footer")).toContain(`htmx ${HTMX[other].version}`);
          const fromOld = `from the htmx ${htmx} page after the restart on ${framework}`;
          await addNote(alice, fromOld);
          await note(fresh, fromOld).waitFor(WAIT);
          const fromNew = `from the htmx ${other} page after the restart on ${framework}`;
          await addNote(fresh, fromNew);
          await note(alice, fromNew).waitFor(WAIT);
          expect(await note(alice, fromNew).count()).toBe(1);
        });
      },
    );
  }
}

if (!hasChromium) {
  describe("the demo in Chromium", () => {
    it.skip(`skipped: ${CHROMIUM} is missing (apt-get install chromium)`, () => {});
  });
}
