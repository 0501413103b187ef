import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@burrow/sse-core";
import { ConfigError } from "@burrow/sse-registry";
import { parseSSE, rawClient, waitFor } from "@burrow/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTMX } from "./shared/htmx.js";
import { FRAMEWORKS } from "./shared/plugin.js";
import { type RunningDemo, type StartOptions, startDemo } from "./start.js";
import { startRunning as start } from "./testing.js";

/** The header htmx 4's hx-sse:connect sends: the /htmx4 handlers' swap maps apply to it. */
const HX_REQUEST = { "HX-Request": "true" };

// The demo over plain HTTP, in-process, on every framework: what the browser
// tests do not look at (status codes, headers, escaping on the wire, config).

async function firstEvent(client: Client) {
  const { value, done } = await client[Symbol.asyncIterator]().next();
  if (done) throw new Error("the client ended without an event");
  return value;
}

/** A `burrow.toml` holding `content`, in a fresh temporary folder. */
function tomlFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "burrow-demo-")), "burrow.toml");
  writeFileSync(file, content);
  return file;
}

const SAME_SITE = { "Sec-Fetch-Site": "same-origin" };
const FORM = { ...SAME_SITE, "Content-Type": "application/x-www-form-urlencoded" };

describe("configuration", () => {
  it("reads apps/demo/burrow.toml by default", async () => {
    const demo = await start({ argv: ["--port=0"], configFile: undefined });
    try {
      expect(demo.broker.bufferSize).toBe(32);
      expect(demo.settings.bufferSizeSource).toBe("toml");
      expect(demo.broker.historySize).toBe(100);
    } finally {
      await demo.close();
    }
  });

  it("takes the framework and buffer size from a TOML file, the environment beating it", async () => {
    const file = tomlFile('[sse]\nbuffer_size = 7\n\n[demo]\nframework = "koa"\nport = 0\n');
    const fromToml = await start({ configFile: file });
    try {
      expect(fromToml.broker.bufferSize).toBe(7);
      expect(fromToml.settings.framework).toBe("koa");
      expect(fromToml.demo.framework).toBe("koa");
    } finally {
      await fromToml.close();
    }
    const fromEnv = await start({ configFile: file, env: { SSE_BUFFER_SIZE: "9" } });
    try {
      expect(fromEnv.broker.bufferSize).toBe(9);
      expect(fromEnv.settings.bufferSizeSource).toBe("env");
    } finally {
      await fromEnv.close();
    }
  });

  it("renders htmx 2 pages with --htmx 2, DEMO_HTMX or TOML demo.htmx, htmx 4 pages by default", async () => {
    const file = tomlFile("[demo]\nhtmx = 2\n");
    const cases: [StartOptions, 2 | 4][] = [
      [{ argv: ["--htmx=2"] }, 2],
      [{ env: { DEMO_HTMX: "2" } }, 2],
      [{ configFile: file }, 2],
      [{ configFile: file, env: { DEMO_HTMX: "4" } }, 4],
      [{}, 4],
    ];
    for (const [options, major] of cases) {
      const demo = await start({ ...options, argv: [...(options.argv ?? []), "--port=0"] });
      try {
        expect(demo.settings.htmx).toBe(major);
        const page = await (await fetch(demo.url)).text();
        if (major === 2) {
          expect(page).toContain('<div class="grid" hx-ext="sse" sse-connect="/events">');
          expect(page).toMatch(/<script nonce="[^"]+" src="\/assets\/htmx2.min.js" defer>/);
          expect(page).not.toContain("hx-sse:connect");
        } else {
          expect(page).toMatch(/<div class="grid" hx-sse:connect="\/htmx4\/events\?lastEventId=/);
          expect(page).toMatch(/<script nonce="[^"]+" src="\/assets\/htmx4.min.js">/);
          expect(page).not.toContain("sse-connect");
        }
      } finally {
        await demo.close();
      }
    }
  });

  it("refuses an htmx version it does not serve, naming the flag and where the value came from", async () => {
    const file = tomlFile("[demo]\nhtmx = 5\n");
    const cases: [StartOptions, string][] = [
      [{ argv: ["--htmx=3"] }, "--htmx: 3 (from flag) is not one of 4, 2"],
      [
        { env: { DEMO_HTMX: "two" } },
        '--htmx: "two" (from environment DEMO_HTMX) is not an integer',
      ],
      [{ configFile: file }, "--htmx: 5 (from toml) is not one of 4, 2"],
    ];
    for (const [options, message] of cases) {
      const started = startDemo({ env: {}, configFile: null, ...options });
      await expect(started).rejects.toSatisfy((err) => ConfigError.isInstance(err));
      await expect(started).rejects.toThrow(message);
    }
  });

  it("answers --help with the flags instead of starting", async () => {
    const result = await startDemo({ argv: ["--help"], env: {}, configFile: null });
    expect(result.help).toContain("--sse-buffer-size");
    expect(result.help).toContain("--framework");
    expect(result.help).toContain("--htmx");
    expect(result.help).toContain("--database-url");
  });

  it("refuses --database-url beside REDIS_URL with a ConfigError naming both, connecting to neither", async () => {
    const both = start({
      argv: ["--port=0", "--database-url=postgres://127.0.0.1:1/none"],
      env: { REDIS_URL: "redis://127.0.0.1:1" },
    });
    await expect(both).rejects.toBeInstanceOf(ConfigError);
    await expect(both).rejects.toThrow("--database-url and REDIS_URL are both set");
  });
});

for (const framework of FRAMEWORKS) {
  describe(`the demo's routes on ${framework}`, () => {
    let demo: RunningDemo;
    const url = (path: string) => new URL(path, demo.url);

    beforeAll(async () => {
      demo = await start({ argv: [`--framework=${framework}`, "--port=0", "--stats-interval=0"] });
    });
    afterAll(() => demo?.close());

    it("serves the broker's figures at /metrics in Prometheus's text format", async () => {
      /** The value of the series `name` (no labels) in a scrape, parsed from its sample line. */
      const sample = (exposition: string, name: string) => {
        const line = exposition.split("\n").find((one) => one.startsWith(`${name} `));
        if (line === undefined) throw new Error(`no sample ${name} in:\n${exposition}`);
        return Number(line.slice(name.length + 1));
      };
      const scrape = async () => {
        const res = await fetch(url("/metrics"));
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
        return res.text();
      };
      const before = await scrape();
      expect(before).toContain("# TYPE burrow_sse_clients gauge");
      expect(before).toContain("# TYPE burrow_sse_events_published_total counter");
      const port = Number(new URL(demo.url).port);
      // htmx 4's home streams: htmx 2's start with their topics' snapshots (snapshotOnConnect).
      const clients = [
        rawClient(port, "/htmx4/events", { headers: { ...HX_REQUEST, Cookie: "user=alice" } }),
        rawClient(port, "/htmx4/events", { headers: { ...HX_REQUEST, Cookie: "user=bob" } }),
        rawClient(port, "/htmx4/projects/42/events", {
          headers: { ...HX_REQUEST, Cookie: "user=bob" },
        }),
      ];
      const [alice, , viewer] = clients;
      try {
        await Promise.all(clients.map((client) => client.ready));
        // bob joins project 42's presence: one event, his name, on presence:project:42.
        await waitFor(() => viewer?.events.length === 1, "bob's join");
        expect(viewer?.events[0]?.data).toBe(
          '<hx-partial hx-target="#viewing" hx-swap="innerHTML"><li data-member="bob">bob</li></hx-partial>',
        );
        for (let i = 0; i < 5; i++) demo.broker.publish("notifications", { data: `m${i}` });
        await waitFor(
          () => clients[1]?.events.length === 5 && alice?.events.length === 5,
          "the five notes",
        );
        const after = await scrape();
        expect(sample(after, "burrow_sse_clients")).toBe(3);
        // notifications, status, stats, user:alice, user:bob, project:42, presence:project:42
        expect(sample(after, "burrow_sse_topics")).toBe(7);
        expect(sample(after, "burrow_sse_presence_members")).toBe(1);
        const delta = (name: string) => sample(after, name) - sample(before, name);
        // The five notes and bob's join.
        expect(delta("burrow_sse_events_published_total")).toBe(6);
        expect(delta("burrow_sse_connections_opened_total")).toBe(3);
        // Each note to two streams, the join to one.
        expect(delta("burrow_sse_events_delivered_total")).toBe(11);
      } finally {
        for (const client of clients) client.close();
      }
      await waitFor(() => demo.broker.stats().clients === 0, "the streams to end");
      expect(sample(await scrape(), "burrow_sse_clients")).toBe(0);
    });

    it("serves the page with a strict CSP: only its own scripts, by nonce, from node_modules", async () => {
      const page = await fetch(url("/"));
      expect(page.status).toBe(200);
      const csp = page.headers.get("content-security-policy") ?? "";
      const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)';/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|script-src[^;]*'self'/);
      const html = await page.text();
      expect(html).toContain(`<script nonce="${nonce}" src="/assets/htmx4.min.js"></script>`);
      expect(html).toContain(`<script nonce="${nonce}" src="/assets/hx-sse.js"></script>`);
      expect(html.match(/<script/g)).toHaveLength(2);
      expect(html).toContain(`Served by ${framework}`);
      // A nonce per page; a fragment (a form's answer) runs no script at all.
      const again = (await fetch(url("/"))).headers.get("content-security-policy");
      expect(again).not.toContain(nonce);
      const fragment = await fetch(url("/notes"), { method: "POST", headers: FORM, body: "" });
      expect(fragment.headers.get("content-security-policy")).toContain("script-src 'none'");

      // htmx 4 and its extension, htmx 2 and htmx-ext-sse: every page of both versions loads from here.
      expect(HTMX[4].version).toMatch(/^4\./);
      expect(HTMX[2].version).toMatch(/^2\./);
      for (const [name, text] of [
        ["htmx4.min.js", HTMX[4].version],
        ["hx-sse.js", "hx-sse:connect"],
        ["htmx2.min.js", HTMX[2].version],
        ["sse.js", "sse-connect"],
      ]) {
        const asset = await fetch(url(`/assets/${name}`));
        expect(asset.status).toBe(200);
        expect(asset.headers.get("content-type")).toContain("text/javascript");
        expect(await asset.text()).toContain(text);
      }
      expect((await fetch(url("/assets/package.json"))).status).toBe(404);
      expect((await fetch(url("/nowhere"))).status).toBe(404);
    });

    it("streams one publish to htmx 2 (named) and htmx 4 (unnamed, in partials) from one broker", async () => {
      const port = Number(new URL(demo.url).port);
      const headers = { Cookie: "user=bob" };
      const v2 = rawClient(port, "/events", { headers });
      const v4 = rawClient(port, "/htmx4/events", { headers: { ...HX_REQUEST, ...headers } });
      const badge2 = rawClient(port, "/projects/42/events", { headers });
      const badge4 = rawClient(port, "/htmx4/projects/42/events", {
        headers: { ...HX_REQUEST, ...headers },
      });
      const clients = [v2, v4, badge2, badge4];
      // Not the project streams' presence events (bob viewing, or not if still listed).
      const own = (client: typeof v2) =>
        client.events.filter(
          (e) =>
            !(e.event ?? "").startsWith("presence:") &&
            !e.data.startsWith('<hx-partial hx-target="#viewing"'),
        );
      try {
        await Promise.all(clients.map((client) => client.ready));
        await waitFor(() => demo.broker.stats().clients === 4, "the four streams");
        // htmx 2's streams (snapshotOnConnect) start with each topic's current state: the
        // notes list's snapshot, the status and statistics (their latest event or snapshot),
        // the badge; htmx 4's start with nothing (no Last-Event-ID: live only).
        await waitFor(
          () => own(v2).length === 3 && own(badge2).length === 1,
          "htmx 2's snapshots on connect",
        );
        const onConnect = own(v2).map((e) => e.event);
        expect(onConnect.sort()).toEqual(["notifications", "stats", "status"]);
        expect(own(v2).find((e) => e.event === "notifications")?.data).toMatch(
          /^<hx-partial hx-target="#notes" hx-swap="innerHTML">/,
        );
        expect(own(badge2).map((e) => e.event)).toEqual(["project:42"]);
        const connected = new Map([
          [v2, 3],
          [badge2, 1],
        ]);
        const live = (client: typeof v2) => own(client).slice(connected.get(client) ?? 0);
        const title = `for both on ${framework}`;
        const post = (path: string, form: Record<string, string>) =>
          fetch(url(path), {
            method: "POST",
            headers: { ...FORM, ...headers },
            body: new URLSearchParams(form),
          });
        await post("/notes", { title });
        await post("/status", { text: "Both" });
        await post("/projects/42", { status: "Both", tone: "ok" });
        await post("/jobs", {});
        const expected = new Map([
          [v2, 3],
          [v4, 3],
          [badge2, 1],
          [badge4, 1],
        ]);
        await waitFor(
          () => clients.every((client) => live(client).length >= (expected.get(client) ?? 0)),
          "every stream's events",
        );
        const shape = (client: typeof v2) =>
          live(client).map((e) => [e.event ?? "", e.data.replace(/>[\s\S]*/, ">")]);
        expect(shape(v2)).toEqual([
          ["notifications", '<hx-partial hx-target="#notes" hx-swap="beforeend">'],
          ["status", '<span class="status-text">'],
          ["user:bob", expect.stringMatching(/^<li class="job"/)],
        ]);
        expect(shape(v4)).toEqual([
          ["", '<hx-partial hx-target="#notes" hx-swap="beforeend">'],
          ["", '<hx-partial hx-target="#status">'],
          ["", expect.stringMatching(/^<li class="job"/)],
        ]);
        expect(shape(badge2)).toEqual([
          ["project:42", expect.stringMatching(/^<span class="badge/)],
        ]);
        expect(shape(badge4)).toEqual([["", expect.stringMatching(/^<span class="badge/)]]);
        // The same bytes in both: a note's event carries its own partials (one render, one publish).
        expect(live(v4)[0]?.data).toBe(live(v2)[0]?.data);
      } finally {
        for (const client of clients) client.close();
      }
    });

    it("renders htmx 4's stream URL with a cursor, so a note published before it connects arrives", async () => {
      const html = await (await fetch(url("/"))).text();
      const stream = /hx-sse:connect="([^"]+)"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
      expect(stream).toMatch(/^\/htmx4\/events\?lastEventId=/);
      const title = `between render and connect on ${framework}`;
      await fetch(url("/notes"), {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams({ title }),
      });
      const client = rawClient(Number(new URL(demo.url).port), stream ?? "", {
        headers: HX_REQUEST,
      });
      try {
        await waitFor(
          () => client.events.some((e) => e.data.includes(title)),
          "the note published after the render",
        );
      } finally {
        client.close();
      }
    });

    it("escapes a note title in the event it publishes and in the page", async () => {
      const client = demo.broker.subscribe("notifications");
      const title = `<img src=x onerror=alert(1)> & "quotes" on ${framework}`;
      const res = await fetch(url("/notes"), {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams({ title }),
      });
      expect(res.status).toBe(200);
      const event = await firstEvent(client);
      demo.broker.unsubscribe(client);
      expect(event.type).toBe("notifications");
      expect(event.data).toContain("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;");
      expect(event.data).not.toContain("<img");
      const page = await (await fetch(url("/"))).text();
      expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
      expect(page).not.toContain("<img");
    });

    it("answers a bad form with 422 and a cross-site post with 403, publishing nothing", async () => {
      const before = demo.broker.stats().published;
      const empty = await fetch(url("/notes"), {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams({ title: "  " }),
      });
      expect(empty.status).toBe(422);
      expect(await empty.text()).toContain("A note needs a title.");
      const long = await fetch(url("/notes"), {
        method: "POST",
        headers: { ...FORM, Cookie: "lang=de" },
        body: new URLSearchParams({ title: "x".repeat(201) }),
      });
      expect(long.status).toBe(422);
      expect(await long.text()).toContain("höchstens 200 Zeichen");
      const crossSite = await fetch(url("/notes"), {
        method: "POST",
        headers: { ...FORM, "Sec-Fetch-Site": "cross-site" },
        body: new URLSearchParams({ title: "forged" }),
      });
      expect(crossSite.status).toBe(403);
      expect(demo.broker.stats().published).toBe(before);
    });

    it("lets only members see and update a project, and publishes to its topic only", async () => {
      expect((await fetch(url("/projects/99"))).status).toBe(404);
      expect((await fetch(url("/projects/99/events"))).status).toBe(404);
      // An id longer than any router's parameter limit (fastify's is 100) names no project either.
      const longId = "4".repeat(150);
      const unknown = await fetch(url(`/projects/${longId}`));
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect((await fetch(url(`/projects/${longId}/events`))).status).toBe(404);
      const bob = { Cookie: "user=bob" };
      expect((await fetch(url("/projects/43"), { headers: bob })).status).toBe(403);
      const forged = await fetch(url("/projects/43"), {
        method: "POST",
        headers: { ...FORM, ...bob },
        body: new URLSearchParams({ status: "hijacked", tone: "stop" }),
      });
      expect(forged.status).toBe(403);

      const watching42 = demo.broker.subscribe("project:42");
      const watching43 = demo.broker.subscribe("project:43");
      const res = await fetch(url("/projects/42"), {
        method: "POST",
        headers: { ...FORM, ...bob },
        body: new URLSearchParams({ status: "Going live", tone: "warn" }),
      });
      expect(res.status).toBe(200);
      const event = await firstEvent(watching42);
      expect(event.data).toContain("Going live");
      expect(event.data).toContain("tone-warn");
      demo.broker.unsubscribe(watching42);
      // 43's subscriber got nothing: the first event it sees is one published to 43 afterwards.
      demo.broker.publish("project:43", { data: "marker" });
      expect((await firstEvent(watching43)).data).toBe("marker");
      demo.broker.unsubscribe(watching43);
    });

    it("runs a job after answering, and publishes its report in the user's language", async () => {
      const german = demo.broker.subscribe("user:alice");
      const english = demo.broker.subscribe("user:bob");
      const de = await fetch(url("/jobs"), {
        method: "POST",
        headers: { ...SAME_SITE, Cookie: "user=alice; lang=de" },
      });
      expect(await de.text()).toMatch(/Bericht Nr\. \d+ eingeplant/);
      const en = await fetch(url("/jobs"), {
        method: "POST",
        headers: { ...SAME_SITE, Cookie: "user=bob", "Accept-Language": "en-GB,de;q=0.5" },
      });
      expect(await en.text()).toMatch(/Report #\d+ queued/);
      const report = await firstEvent(german);
      // Its type is its topic: named for htmx 2's sse-swap, unnamed on htmx 4's stream.
      expect(report.type).toBe("user:alice");
      expect(report.data).toContain('data-locale="de"');
      expect(report.data).toMatch(/Bericht Nr\. \d+ fertig/);
      const englishReport = await firstEvent(english);
      expect(englishReport.data).toMatch(/Report #\d+ ready/);
      demo.broker.unsubscribe(german);
      demo.broker.unsubscribe(english);
    });

    it("answers htmx 4's report POST with a stream: queued, progress, ready once the report is out", async () => {
      const german = demo.broker.subscribe("user:alice");
      const res = await fetch(url("/htmx4/jobs"), {
        method: "POST",
        headers: { ...SAME_SITE, Cookie: "user=alice; lang=de" },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/event-stream");
      // The stream ends by itself once the job is done.
      const { events } = parseSSE(await res.text());
      const id = /Nr\. (\d+)/.exec(events[0]?.data ?? "")?.[1];
      expect(events.map((e) => [e.event, e.data])).toEqual([
        [undefined, expect.stringMatching(new RegExp(`^Bericht Nr\\. ${id} eingeplant`))],
        ...[25, 50, 75, 100].map((percent) => [
          undefined,
          `<progress value="${percent}" max="100"></progress> Bericht Nr. ${id}: ${percent} % erledigt…`,
        ]),
        [undefined, `<span class="job-ready">Bericht Nr. ${id} ist fertig, siehe unten.</span>`],
      ]);
      // Before "ready", the job published its report to the user's topic, in German.
      const report = await firstEvent(german);
      demo.broker.unsubscribe(german);
      expect(report.data).toMatch(new RegExp(`^<li class="job" id="job-${id}" lang="de"`));

      // Only a POST from this site starts one: cross-site is refused before the stream starts.
      const forged = await fetch(url("/htmx4/jobs"), {
        method: "POST",
        headers: { "Sec-Fetch-Site": "cross-site" },
      });
      expect(forged.status).toBe(403);
      expect(await forged.text()).toBe("cross-origin requests are refused");
      // Only a POST (express and fastify: 404, koa: 405 Method Not Allowed).
      expect([404, 405]).toContain((await fetch(url("/htmx4/jobs"))).status);
    });

    it("ends htmx 4's report stream without a false 'ready' when the demo shuts down mid-job", async () => {
      const stopping = await start({ argv: [`--framework=${framework}`, "--port=0"] });
      const reports = stopping.broker.subscribe("user:alice");
      const res = await fetch(new URL("/htmx4/jobs", stopping.url), {
        method: "POST",
        headers: { Cookie: "user=alice" },
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let text = "";
      while (!text.includes("<progress")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before any progress: ${text}`);
        text += Buffer.from(value).toString("utf8");
      }
      await stopping.close();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString("utf8");
      }
      expect(text).not.toContain("job-ready");
      expect(reports.closed).toBe(true);
      expect(stopping.broker.stats().published).toBe(0);
    });

    it("streams /events with the user's topic, and sets cookies for language and user", async () => {
      const stream = await fetch(url("/events"), { headers: { Cookie: "user=bob" } });
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toBe("text/event-stream");
      await stream.body?.cancel();

      const lang = await fetch(url("/locale"), {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams({ lang: "de", back: "/projects/42" }),
        redirect: "manual",
      });
      expect(lang.status).toBe(303);
      expect(lang.headers.get("location")).toBe("/projects/42");
      expect(lang.headers.get("set-cookie")).toContain("lang=de");
      const user = await fetch(url("/user"), {
        method: "POST",
        headers: FORM,
        body: new URLSearchParams({ user: "bob", back: "//evil.example" }),
        redirect: "manual",
      });
      expect(user.headers.get("location")).toBe("/");
      expect(user.headers.get("set-cookie")).toContain("user=bob");
    });
  });
}
