import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@burrow/sse-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningDemo, startDemo } from "./start.js";
import { startRunning as start } from "./testing.js";

// The demo over plain HTTP, in-process, on both frameworks: what the browser
// tests do not look at (status codes, headers, escaping on the wire, config).

async function firstEvent(client: Client) {
  const { value, done } = await client[Symbol.asyncIterator]().next();
  if (done) throw new Error("the client ended without an event");
  return value;
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
    const dir = mkdtempSync(join(tmpdir(), "burrow-demo-"));
    const file = join(dir, "burrow.toml");
    writeFileSync(file, '[sse]\nbuffer_size = 7\n\n[demo]\nframework = "koa"\nport = 0\n');
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

  it("answers --help with the flags instead of starting", async () => {
    const result = await startDemo({ argv: ["--help"], env: {}, configFile: null });
    expect(result.help).toContain("--sse-buffer-size");
    expect(result.help).toContain("--framework");
  });
});

for (const framework of ["express", "koa"] as const) {
  describe(`the demo's routes on ${framework}`, () => {
    let demo: RunningDemo;
    const url = (path: string) => new URL(path, demo.url);

    beforeAll(async () => {
      demo = await start({ argv: [`--framework=${framework}`, "--port=0", "--stats-interval=0"] });
    });
    afterAll(() => demo?.close());

    it("serves the page with a strict CSP, and htmx from node_modules", async () => {
      const page = await fetch(url("/"));
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script src="/assets/htmx.min.js" defer></script>');
      expect(html).toContain('sse-connect="/events"');
      expect(html).toContain(`Served by ${framework}`);

      const htmx = await fetch(url("/assets/htmx.min.js"));
      expect(htmx.status).toBe(200);
      expect(htmx.headers.get("content-type")).toContain("text/javascript");
      expect(await htmx.text()).toContain("htmx");
      const sse = await fetch(url("/assets/sse.js"));
      expect(await sse.text()).toContain("sse-connect");
      expect((await fetch(url("/assets/package.json"))).status).toBe(404);
      expect((await fetch(url("/nowhere"))).status).toBe(404);
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
      expect(report.type).toBe("job");
      expect(report.data).toContain('data-locale="de"');
      expect(report.data).toMatch(/Bericht Nr\. \d+ fertig/);
      const englishReport = await firstEvent(english);
      expect(englishReport.data).toMatch(/Report #\d+ ready/);
      demo.broker.unsubscribe(german);
      demo.broker.unsubscribe(english);
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
