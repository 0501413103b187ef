/**
 * The site's runnable examples run: every block marked
 * `<!-- runnable: NAME -->` on a page is extracted and run as a user runs it
 * (`node server.js`, against the built packages), and checked by the check
 * of its name below. A marked block without a check, or a check without a
 * block, fails; so does a page whose install line misses a package its
 * examples load.
 */
import type { ChildProcess } from "node:child_process";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  longKeepAlive,
  parseSSE,
  type RawClient,
  rawClient,
  recordEvents,
  startExample,
  waitFor,
} from "@burrow/test-utils";
import * as pg from "@burrow/test-utils/postgres";
import * as redis from "@burrow/test-utils/redis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DOCS, extractRunnables, packagesInstalled, packagesUsed } from "./scripts/runnable.js";
import { expectPage, stop } from "./scripts/served.js";

const runnables = extractRunnables();
const BIOME = join(DOCS, "..", "node_modules", ".bin", "biome");
const children: ChildProcess[] = [];
const clients: { close(): void }[] = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** Starts runnable `name` on a free port; resolves with its URL once it printed it. */
async function start(name: string, env: Record<string, string> = {}) {
  const { child, url } = await startExample(runnables.get(name)!.file, env);
  children.push(child);
  return { child, url, port: Number(url.split(":")[2]) };
}

/**
 * Opens an `EventSource` (htmx 2) and an htmx 4 request (`HX-Request: true`)
 * on `/events` of `listen`, posts a note to `post`, and asserts that the first
 * gets it as a `notes` event and the second as an unnamed message.
 */
async function expectNote(
  listen: { url: string; port: number },
  post: string,
  body: string,
  note: string,
): Promise<void> {
  const eventSource = recordEvents(`${listen.url}/events`, ["notes", "message"]);
  const htmx4 = rawClient(listen.port, "/events", { headers: { "HX-Request": "true" } });
  clients.push(eventSource, htmx4);
  await Promise.all([eventSource.opened, htmx4.ready]);
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  expect((await fetch(`${post}/notes`, { method: "POST", body, headers })).status).toBe(204);
  const [named] = await eventSource.waitForCount(1);
  expect([named?.event, named?.data]).toEqual(["notes", note]);
  await waitFor(() => htmx4.events.length > 0, "htmx 4's message");
  expect([htmx4.events[0]?.event, htmx4.events[0]?.data]).toEqual([undefined, note]);
}

const FORM = new URLSearchParams({ title: "<b>hi</b>" }).toString();
const NOTE = "<li>&#60;b&#62;hi&#60;/b&#62;</li>";

/** The check of a page that serves `/`, a stream of notes and `POST /notes`. */
async function notesApp(name: string, env: Record<string, string> = {}) {
  const app = await start(name, env);
  await expectPage(app.url, "/", 'hx-sse:connect="/events"');
  await expectNote(app, app.url, FORM, NOTE);
  expect(await stop(app.child)).toBe(0);
}

/** Runnable blocks checked by the describes at the end, once per backplane. */
const perBackplane = ["start-scale-out"];

/** The check of each other runnable block, by name. */
const checks: Record<string, () => Promise<void>> = {
  "start-core": () => notesApp("start-core"),
  "start-express": () => notesApp("start-express"),
  "start-koa": () => notesApp("start-koa"),
  "start-fastify": () => notesApp("start-fastify"),
  // Keep-alive lasts minutes here: the shutdown must close the connections of ended streams.
  "recipe-hono": () => notesApp("recipe-hono", longKeepAlive()),

  "start-registry": async () => {
    const { file } = runnables.get("start-registry")!;
    const run = promisify(execFile);
    const help = await run(process.execPath, [file, "--help"], { cwd: DOCS });
    expect(help.stdout).toContain("--notes-port");
    expect(help.stdout).toContain("NOTES_PORT");
    const bad = await run(process.execPath, [file], {
      cwd: DOCS,
      env: { ...process.env, NOTES_PORT: "eighty" },
    }).catch((error: { code: number; stderr: string }) => error);
    expect("code" in bad && bad.code).toBe(2);
    expect(bad.stderr).toContain('--notes-port: "eighty" (from environment NOTES_PORT)');
    const app = await start("start-registry", { NOTES_PORT: "0" });
    await expectNote(app, app.url, FORM, NOTE);
    expect(await stop(app.child)).toBe(0);
  },

  "recipe-htmx": async () => {
    const app = await start("recipe-htmx");
    await expectPage(app.url, "/", 'hx-sse:connect="/events"');
    await expectPage(app.url, "/v2", 'sse-connect="/events" sse-swap="notes"');
    await expectNote(app, app.url, FORM, NOTE);
    expect(await stop(app.child)).toBe(0);
  },

  "recipe-request-streams": async () => {
    const app = await start("recipe-request-streams");
    await expectPage(app.url, "/", 'hx-post="/reports"');
    const answer = await fetch(`${app.url}/reports`, {
      method: "POST",
      headers: { "HX-Request": "true" },
    });
    expect(answer.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const { events } = parseSSE(await answer.text()); // resolves: the stream ends
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ...[25, 50, 75, 100].map((n) => [undefined, `<progress value="${n}" max="100"></progress>`]),
      [undefined, "<p>Report ready</p>"],
    ]);
    expect(await stop(app.child)).toBe(0);
  },

  "recipe-auth": async () => {
    const app = await start("recipe-auth");
    const status = async (path: string, cookie?: string) => {
      const controller = new AbortController();
      const headers: Record<string, string> = cookie ? { Cookie: cookie } : {};
      const answer = await fetch(`${app.url}${path}`, { headers, signal: controller.signal });
      controller.abort(); // a stream never ends: its status is enough
      return answer.status;
    };
    expect(await status("/events?id=42")).toBe(403);
    expect(await status("/events?id=42", "session=ann-session")).toBe(200);
    expect(await status("/events?id=43", "session=ann-session")).toBe(403);
    expect(await status("/events?id=42", "session=forged")).toBe(403);
    expect(await status("/stream-token")).toBe(401);
    const token = await (
      await fetch(`${app.url}/stream-token`, { headers: { Cookie: "session=ann-session" } })
    ).text();
    expect(await status(`/events?id=42&token=${token}`)).toBe(200);
    expect(await status(`/events?id=43&token=${token}`)).toBe(403);
    expect(await status("/events?id=42&token=guessed")).toBe(403);
    expect(await stop(app.child)).toBe(0);
  },

  "recipe-compression": async () => {
    const app = await start("recipe-compression");
    const script = await fetch(`${app.url}/htmx/htmx.min.js`, {
      headers: { "Accept-Encoding": "gzip" },
    });
    expect(script.headers.get("content-encoding")).toBe("gzip");
    const stream: RawClient = rawClient(app.port, "/events", {
      headers: { "Accept-Encoding": "gzip" },
    });
    clients.push(stream);
    await stream.ready;
    expect(stream.head).toMatch(/cache-control: no-cache, no-transform/i);
    expect(stream.head).not.toMatch(/content-encoding/i);
    expect((await fetch(`${app.url}/notes`, { method: "POST" })).status).toBe(204);
    await waitFor(() => stream.events.length > 0, "the note, uncompressed");
    expect(stream.events[0]?.data).toBe("<li>Compressed? No: on time.</li>");
    expect(await stop(app.child)).toBe(0);
  },

  "recipe-nextjs": async () => {
    const route = await import(runnables.get("recipe-nextjs")!.file);
    expect(route.dynamic).toBe("force-dynamic");
    const read = async (response: Response) => {
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      return { reader, text: "" };
    };
    const controller = new AbortController();
    const eventSource = await read(await route.GET(new Request("http://x/events")));
    const htmx4 = await read(
      await route.GET(
        new Request("http://x/events", {
          headers: { "HX-Request": "true" },
          signal: controller.signal,
        }),
      ),
    );
    const form = new FormData();
    form.set("title", "<b>hi</b>");
    const posted = await route.POST(new Request("http://x/events", { method: "POST", body: form }));
    expect(posted.status).toBe(204);
    for (const stream of [eventSource, htmx4]) {
      while (parseSSE(stream.text).events.length === 0) {
        const { done, value } = await stream.reader.read();
        if (done) break;
        stream.text += value;
      }
    }
    expect(parseSSE(eventSource.text).events.map((e) => [e.event, e.data])).toEqual([
      ["notes", NOTE],
    ]);
    expect(parseSSE(htmx4.text).events.map((e) => [e.event, e.data])).toEqual([[undefined, NOTE]]);
    controller.abort();
    route.broker.close();
  },
};

describe("the site's pages", () => {
  it("every runnable block has a check, and every check a block", () => {
    expect([...runnables.keys()].sort()).toEqual([...Object.keys(checks), ...perBackplane].sort());
  });

  it.each([...runnables.keys()])(
    "%s is formatted as biome formats the repository's code",
    (name) => {
      const { code } = runnables.get(name)!;
      const formatted = execFileSync(BIOME, ["format", "--stdin-file-path=example.mjs"], {
        input: `${code}\n`,
        encoding: "utf8",
      });
      expect(`${code}\n`).toBe(formatted);
    },
  );

  const pagesWithExamples = [...new Set([...runnables.values()].map((r) => r.page))];
  it.each(pagesWithExamples)(
    "%s: its install lines name every package its runnable blocks load",
    (page) => {
      const blocks = [...runnables.values()].filter((r) => r.page === page);
      const installed = packagesInstalled(readFileSync(join(DOCS, page), "utf8"));
      for (const block of blocks) {
        for (const name of packagesUsed(block.code)) {
          expect(installed, `${block.name} loads ${name}`).toContain(name);
        }
      }
    },
  );

  it.each(Object.keys(checks))("%s runs as the page says", (name) => checks[name]!());
});

/** The scale-out start, run twice on one backplane: a note posted to one process reaches the other. */
async function twoProcesses(env: Record<string, string>): Promise<void> {
  const [one, two] = await Promise.all([
    start("start-scale-out", env),
    start("start-scale-out", env),
  ]);
  const health = async (url: string) =>
    (await (await fetch(`${url}/health`)).json()) as { state: string; topics: number };
  const listening = recordEvents(`${one.url}/events`, ["notes"]);
  clients.push(listening);
  await listening.opened;
  await waitFor(async () => (await health(one.url)).topics === 1, "one to listen to notes");
  await waitFor(async () => (await health(two.url)).state === "ready", "two to be ready");
  await expectNote(
    one,
    two.url,
    "<b>hi</b>",
    `<li>&#60;b&#62;hi&#60;/b&#62; (via :${two.port})</li>`,
  );
  expect(await Promise.all([stop(one.child), stop(two.child)])).toEqual([0, 0]);
}

redis.describeRedis("start-scale-out on Redis", () => {
  const prefix = redis.uniquePrefix();
  afterAll(() => redis.deleteKeys(prefix));
  it("two processes share one topic space", () =>
    twoProcesses({ REDIS_URL: redis.REDIS_URL, DATABASE_URL: "", SSE_PREFIX: prefix }));
});

pg.describePostgres("start-scale-out on PostgreSQL", () => {
  const prefix = pg.uniquePrefix();
  afterAll(() => pg.dropPrefix(prefix));
  it("two processes share one topic space", () =>
    twoProcesses({ DATABASE_URL: pg.DATABASE_URL, SSE_PREFIX: prefix }));
});
