import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll } from "vitest";

// Test support for the browser tests (core's htmx tests and the demo's): Debian's Chromium, never a downloaded one.

/** Where `.ci/run` installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed; under `CI=true` its absence is an error, not a skip. */
export const hasChromium = existsSync(CHROMIUM);

if (!hasChromium && process.env.CI === "true") {
  throw new Error(
    `${CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)`,
  );
}

/** Launches headless Chromium with the flags this machine's closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * One Chromium for the calling test file: launched before its tests (when
 * installed), closed after them. Returns the browser, for use inside tests.
 */
export function chromiumPerFile(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (hasChromium) browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === undefined) throw new Error("Chromium is not running: skip the test without it");
    return browser;
  };
}
