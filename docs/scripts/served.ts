/**
 * What the checks of the site's runnable examples share: stopping a server
 * as Ctrl-C does, and checking the page it serves.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { expect } from "vitest";

/** Sends SIGTERM with clients connected; resolves with the exit code. */
export async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const [code] = await exited;
  return code as number | null;
}

/** Asserts that `path` is an HTML page whose scripts are all served, from node_modules. */
export async function expectPage(url: string, path: string, connect: string): Promise<void> {
  const page = await fetch(`${url}${path}`);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  const html = await page.text();
  expect(html).toContain(connect);
  const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
  expect(scripts.length).toBeGreaterThanOrEqual(2);
  for (const script of scripts) {
    const response = await fetch(`${url}${script}`);
    expect(response.headers.get("content-type")).toMatch(/javascript/);
    expect((await response.text()).length).toBeGreaterThan(1000);
  }
}
