import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import {
  CONVERGE_WAIT,
  type DemoPage,
  expectConverged,
  HOME,
  PROJECT,
  post,
  type Regions,
} from "./convergence-testing.js";
import type { HtmxVersion } from "./shared/htmx.js";
import type { Framework } from "./shared/plugin.js";
import type { RunningDemo } from "./start.js";
import { recordStreams, type StreamRequest, startRunning, trackStreams } from "./testing.js";

// Test support for the convergence tests: one in-memory demo and alice's two
// tabs on it (the home page and project 42's page), which the tests send away,
// throttle or carry across a restart.

/** Alice's home and project tabs on one demo, started by {@link demoTabs}. */
export class DemoTabs {
  demo!: RunningDemo;
  home!: Page;
  project!: Page;
  /** Every request for either page's stream, in order (across restarts). */
  readonly streams: StreamRequest[] = [];
  /** The tabs' uncaught errors. */
  readonly errors: string[] = [];
  readonly framework: Framework;
  readonly htmx: HtmxVersion;
  #untrack = () => {};
  #context: BrowserContext | undefined;

  constructor(framework: Framework, htmx: HtmxVersion) {
    this.framework = framework;
    this.htmx = htmx;
  }

  /**
   * Starts the demo on `port` (0: any free one), its live status every
   * 250 ms, a closed stream's page back within 300 ms, a viewer gone 100 ms
   * after their last stream; records its streams.
   */
  async start(port = 0): Promise<void> {
    this.demo = await startRunning({
      argv: [
        `--framework=${this.framework}`,
        `--htmx=${this.htmx}`,
        `--port=${port}`,
        "--stats-interval=250",
      ],
      reconnectWindowMs: 300,
      presenceDebounceMs: 100,
    });
    const paths = [HOME.stream(this.htmx), PROJECT.stream(this.htmx)];
    this.#untrack = trackStreams(this.demo, paths, this.streams);
  }

  /** Opens the two tabs in `browser` (a note first, then one seen live). */
  async open(browser: Browser): Promise<void> {
    this.#context = await browser.newContext({ locale: "en-US" });
    await this.#context.addInitScript(recordStreams);
    await post(this.demo.url, "/notes", { title: "before the page" });
    this.home = await this.#tab(HOME);
    this.project = await this.#tab(PROJECT);
    await post(this.demo.url, "/notes", { title: "seen live" });
    await this.home.locator(".note-title", { hasText: "seen live" }).waitFor(CONVERGE_WAIT);
  }

  /** Stops the demo and starts a new process on its port, afresh (state is in memory). */
  async restart(): Promise<void> {
    const port = Number(new URL(this.demo.url).port);
    this.#untrack();
    await this.demo.close();
    await this.start(port);
  }

  async close(): Promise<void> {
    this.#untrack();
    await this.#context?.close();
    await this.demo?.close();
  }

  /** Waits until `tab` shows what a fresh load of `page` shows; see {@link expectConverged}. */
  converged(tab: Page, page: DemoPage): Promise<Regions> {
    return expectConverged(tab, page, this.demo.url);
  }

  /** How many times `tab`'s stream opened. */
  opens(tab: Page): Promise<number> {
    return tab.evaluate(() => window.sseOpens);
  }

  /** Snapshots of the notes list the home tab received (both versions: one `<hx-partial>`). */
  notesSnapshots(): Promise<number> {
    return this.home.evaluate(
      () =>
        window.sseMessages.filter((m) =>
          m.data.startsWith('<hx-partial hx-target="#notes" hx-swap="innerHTML">'),
        ).length,
    );
  }

  /** Who is viewing project 42, as the broker knows it. */
  async viewers(): Promise<string[]> {
    return (await this.demo.broker.members("project:42")).map((member) => member.id);
  }

  #tab(page: DemoPage): Promise<Page> {
    return openTab(this.#context!, new URL(page.path, this.demo.url).href, this.errors);
  }
}

/**
 * A tab of `context` on `url` (its context records its streams), once its
 * stream is open; its uncaught errors go to `errors`.
 */
export async function openTab(
  context: BrowserContext,
  url: string,
  errors: string[],
): Promise<Page> {
  const tab = await context.newPage();
  tab.on("pageerror", (error) => errors.push(error.message));
  await tab.goto(url);
  await tab.waitForFunction(() => window.sseOpens >= 1, undefined, CONVERGE_WAIT);
  return tab;
}

/**
 * A {@link DemoTabs} for the calling `describe`: the demo started and the
 * tabs opened before its tests, everything closed after them.
 */
export function demoTabs(
  framework: Framework,
  htmx: HtmxVersion,
  browser: () => Browser,
): DemoTabs {
  const tabs = new DemoTabs(framework, htmx);
  beforeAll(async () => {
    await tabs.start();
    await tabs.open(browser());
  }, 60_000);
  afterAll(() => tabs.close());
  return tabs;
}
