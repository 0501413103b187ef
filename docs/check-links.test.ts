/**
 * The site's link check (scripts/check-links.mjs) on a built site made by
 * hand: it passes links that resolve and reports, by page, each link to a
 * missing page, a missing anchor, a repository file that does not exist or
 * a heading that file does not have; external links are never fetched.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("scripts/check-links.mjs", import.meta.url));
const REPO = "https://github.com/burrow-sse/burrow-sse";
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A built site of `pages` (path → body), checked; resolves with the exit code and output. */
async function check(pages: Record<string, string>) {
  const dist = mkdtempSync(join(tmpdir(), "burrow-links-"));
  dirs.push(dist);
  for (const [path, body] of Object.entries(pages)) {
    mkdirSync(join(dist, path, ".."), { recursive: true });
    writeFileSync(join(dist, path), `<!doctype html><html><body>${body}</body></html>`);
  }
  return promisify(execFile)(process.execPath, [script, dist]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe("check-links", () => {
  it("passes pages, anchors, repository files and their headings that exist, and never fetches external links", async () => {
    const result = await check({
      "index.html": `<a href="start/core.html#install">a</a><a href="#top">b</a><h1 id="top">t</h1>
        <a href="/api/">c</a><a href="https://unreachable.invalid/x#y">d</a><a href="mailto:x@y">e</a>
        <a href="${REPO}/blob/main/docs/reliability.md#slow-readers">f</a>
        <a href="${REPO}/blob/main/packages/sse-core/README.md#streamhandlerproduce-options">g</a>
        <a href="${REPO}/tree/main/packages/sse-core">h</a>`,
      "start/core.html": `<h2 id="install">Install</h2><a href="../index.html">back</a>`,
      "api/index.html": "API",
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("check-links: 9 links, 0 broken\n");
    expect(result.code).toBe(0);
  });

  it("reports each broken link with its page, and exits 1", async () => {
    const result = await check({
      "index.html": `<a href="start/core.html#nope">a</a><a href="missing.html">b</a>
        <a href="#gone">c</a>`,
      "start/core.html": `<a href="${REPO}/blob/main/docs/nowhere.md">d</a>
        <a href="${REPO}/blob/main/docs/reliability.md#no-such-heading">e</a>`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      "index.html: start/core.html#nope: no #nope on start/core.html",
      "index.html: missing.html: no page /missing.html",
      "index.html: #gone: no #gone on index.html",
      `start/core.html: ${REPO}/blob/main/docs/nowhere.md: no file docs/nowhere.md in the repository`,
      `start/core.html: ${REPO}/blob/main/docs/reliability.md#no-such-heading: no heading #no-such-heading in docs/reliability.md`,
    ]);
  });
});
