/**
 * Checks an adapter's README against its `examples/quick-start.mjs`: the
 * README shows the example verbatim, every `js` block of the README is part
 * of it, and the example, run as a user would run it, serves a page with
 * htmx 4 from `node_modules` and the Go docs' quick start (publish from a
 * handler, several topics, dynamic topics, user text escaped), and shuts
 * down gracefully with clients connected.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { recordEvents } from "./clients.js";
import { waitFor } from "./waits.js";

/**
 * Runs the quick-start checks for the package whose root is `root` (a file
 * URL). `postToStream`: what the example answers a POST to its GET-only
 * `/events` (express's `app.get`: 404; koa with `allowedMethods()`: 405).
 */
export function describeQuickStart(root: URL, postToStream: 404 | 405): void {
  const dir = fileURLToPath(root);
  const readme = readFileSync(`${dir}README.md`, "utf8");
  const example = readFileSync(`${dir}examples/quick-start.mjs`, "utf8").trimEnd();
  const examples = readdirSync(`${dir}examples`)
    .filter((name) => name.endsWith(".mjs"))
    .map((name) => readFileSync(`${dir}examples/${name}`, "utf8"));
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  describe("README quick start (examples/quick-start.mjs)", () => {
    it("shows the example verbatim, and every js block of the README is part of an example", () => {
      expect(readme).toContain(example);
      const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!.trimEnd());
      expect(blocks.length).toBeGreaterThan(1);
      for (const block of blocks) {
        expect(
          examples.some((text) => text.includes(block)),
          block,
        ).toBe(true);
      }
    });

    it("runs: serves a page that loads htmx 4 and its SSE extension from node_modules", async () => {
      const { child, url } = await startExample(`${dir}examples/quick-start.mjs`);
      children.push(child);
      const page = await fetch(`${url}/`);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain('<div hx-sse:connect="/events"></div>');
      const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
      expect(scripts).toEqual(["/htmx/htmx.min.js", "/htmx/ext/hx-sse.min.js"]);
      for (const script of scripts) {
        const response = await fetch(`${url}${script}`);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toMatch(/javascript/);
        expect((await response.text()).length).toBeGreaterThan(1000);
      }
      const post = await fetch(`${url}/events`, { method: "POST" });
      await post.text();
      expect([post.status, post.headers.get("allow")]).toEqual(
        postToStream === 405 ? [405, "HEAD, GET"] : [404, null],
      );
    });

    it("runs: publishes escaped notes, per-project events, and stops on SIGTERM", async () => {
      const { child, url } = await startExample(`${dir}examples/quick-start.mjs`);
      children.push(child);
      const page = recordEvents(`${url}/events`, ["notifications", "status"]);
      const p42 = recordEvents(`${url}/projects/42/events`, ["project:42"]);
      const p43 = recordEvents(`${url}/projects/43/events`, ["project:43"]);
      // The same endpoint read as htmx 4's hx-sse:connect reads it: a fetch with
      // `HX-Request: true` (the EventSource above, without it, gets named events).
      const v4 = recordEvents(`${url}/events`, ["message"], {
        fetch: (input, init) =>
          fetch(input, { ...init, headers: { ...init?.headers, "HX-Request": "true" } }),
      });
      await Promise.all([page.opened, p42.opened, p43.opened, v4.opened]);

      const form = new URLSearchParams({ title: `<img src=x onerror="alert(1)">` });
      expect((await fetch(`${url}/notes`, { method: "POST", body: form })).status).toBe(204);
      expect((await fetch(`${url}/projects/42/done`, { method: "POST" })).status).toBe(204);
      await page.waitForCount(2);
      await p42.waitForCount(1);
      expect(page.events.map((e) => `${e.event}: ${e.data}`)).toEqual([
        "notifications: <li>&#60;img src=x onerror=&#34;alert(1)&#34;&#62;</li>",
        "status: 1 notes",
      ]);
      await v4.waitForCount(2);
      expect(v4.events.map((e) => e.data)).toEqual([
        '<hx-partial hx-target="#notes" hx-swap="beforeend"><li>&#60;img src=x onerror=&#34;alert(1)&#34;&#62;</li></hx-partial>',
        '<hx-partial hx-target="#status">1 notes</hx-partial>',
      ]);
      expect(p42.events.map((e) => e.data)).toEqual(["<span>Updated</span>"]);
      expect(p43.events).toEqual([]);

      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      for (const client of [page, p42, p43, v4]) client.close();
      expect(code).toBe(0);
    });
  });
}

/**
 * Checks an adapter's `examples/per-user-snapshot.mjs` (the handler option
 * `snapshot`): the README shows it verbatim, and run as a user would run it,
 * two users (a `user` cookie) whose `Last-Event-ID` the broker does not know
 * each start with their own inbox, rendered from their request.
 */
export function describeSnapshotExample(root: URL): void {
  const dir = fileURLToPath(root);
  const file = `${dir}examples/per-user-snapshot.mjs`;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  describe("README per-user snapshots (examples/per-user-snapshot.mjs)", () => {
    it("shows the example verbatim; run, each user starts with their own inbox", async () => {
      const readme = readFileSync(`${dir}README.md`, "utf8");
      expect(readme).toContain(readFileSync(file, "utf8").trimEnd());
      const { child, url } = await startExample(file);
      children.push(child);
      const inbox = (user: string) =>
        recordEvents(`${url}/events`, [`inbox:${user}`], {
          fetch: (input, init) =>
            fetch(input, {
              ...init,
              headers: { ...init.headers, cookie: `user=${user}`, "last-event-id": "gone" },
            }),
        });
      const [ann, bob] = [inbox("ann"), inbox("bob")];
      const [annGot, bobGot] = await Promise.all([ann.waitForCount(1), bob.waitForCount(1)]);
      const partial = (html: string) =>
        `<hx-partial hx-target="#inbox" hx-swap="innerHTML">${html}</hx-partial>`;
      expect([annGot[0]?.data, bobGot[0]?.data]).toEqual([
        partial("<li>Welcome, Ann</li>"),
        partial("<li>Welcome, Bob</li><li>Invoice due</li>"),
      ]);
      child.kill("SIGTERM");
      const [code] = await once(child, "exit");
      for (const client of [ann, bob]) client.close();
      expect(code).toBe(0);
    });
  });
}

/**
 * Starts a Node example script that listens on `PORT` (set to 0) and prints
 * `listening on http://…`, with `env` added to the environment; resolves
 * with the process and that URL (within `timeoutMs`). The caller kills the process.
 */
export async function startExample(
  file: string,
  env: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [file], {
    cwd: dirname(file),
    env: { ...process.env, ...env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  await waitFor(() => /http:\/\/[\d.]+:\d+/.test(out), `${file} to listen`, timeoutMs);
  return { child, url: /http:\/\/[\d.]+:\d+/.exec(out)![0] };
}
