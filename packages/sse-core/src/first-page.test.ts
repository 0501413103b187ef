import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cleanupAfterEach, recordEvents, startExample, waitFor } from "@burrow/test-utils";
import { chromiumPerFile, hasChromium } from "@burrow/test-utils/chromium";
import { describe, expect, it } from "vitest";

// The root README's "30 seconds": a complete page a newcomer can open, with
// htmx served from node_modules. (The install-lines test of published-shape
// runs it again outside the workspace, from the README's install lines.)

const file = fileURLToPath(new URL("../examples/first-page.mjs", import.meta.url));
const rootReadme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
const section = rootReadme.slice(
  rootReadme.indexOf("## 30 seconds"),
  rootReadme.indexOf("\n## ", rootReadme.indexOf("## 30 seconds") + 3),
);
const cleanups = cleanupAfterEach();
const browser = chromiumPerFile();

/** Starts the example on a free port; stopped (SIGKILL) after the test if still running. */
async function started() {
  const example = await startExample(file);
  cleanups.push(() => example.child.kill("SIGKILL"));
  return example;
}

describe("the root README's 30-second example (examples/first-page.mjs)", () => {
  it("is in the section verbatim, with the install line of what it imports", () => {
    expect(section).toContain(`\`\`\`js\n${readFileSync(file, "utf8")}\`\`\``);
    expect(section).toContain("npm install @burrow/sse-core htmx.org\n");
    expect(section).toContain("npm pkg set type=module");
  });

  it("serves its page and htmx from node_modules; a visit reaches an open stream; SIGTERM exits 0", async () => {
    const { child, url } = await started();
    // No HX-Request header: an EventSource gets the topic as a named event.
    const stream = recordEvents(`${url}/events`, ["notifications"]);
    await stream.opened;

    const page = await fetch(`${url}/`);
    expect([page.status, page.headers.get("content-type")]).toEqual([
      200,
      "text/html; charset=utf-8",
    ]);
    const scripts = [...(await page.text()).matchAll(/<script src="([^"]+)"><\/script>/g)];
    expect(scripts.map((m) => m[1])).toEqual(["/htmx.js", "/hx-sse.js"]);
    for (const [, script] of scripts) {
      const response = await fetch(`${url}${script}`);
      expect([script, response.status, response.headers.get("content-type")]).toEqual([
        script,
        200,
        "text/javascript",
      ]);
      expect((await response.text()).length).toBeGreaterThan(1000);
    }
    const [visit] = await stream.waitForCount(1);
    expect(visit?.data).toBe("<li>Someone visited</li>");
    expect((await fetch(`${url}/favicon.ico`)).status).toBe(404);

    // SIGTERM with the stream still open (closed first, its aborted fetch kept the socket open
    // until the client's keep-alive timeout, about 4 s, which the exit waited for).
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    stream.close();
    expect(code).toBe(0);
  });

  it.skipIf(!hasChromium)(
    "in Chromium: a visit in a second window appears in the first",
    async () => {
      const { url } = await started();
      const context = await browser().newContext();
      cleanups.push(() => context.close());
      const errors: string[] = [];
      const [first, second] = [await context.newPage(), await context.newPage()];
      for (const page of [first, second])
        page.on("pageerror", (error) => errors.push(String(error)));
      await first.goto(url);
      // Each visit publishes; once the first window's stream is open, the next one shows up there.
      await waitFor(async () => {
        await second.goto(url);
        return (await first.locator("li").count()) > 0;
      }, "a visit in the second window to appear in the first");
      expect(await first.locator("li").first().textContent()).toBe("Someone visited");
      expect(errors).toEqual([]);
    },
  );
});
