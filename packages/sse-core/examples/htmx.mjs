import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { EventBroker, handler, streamHandler } from "@burrow/sse-core";

// htmx 4 and its SSE extension from your own node_modules, never a CDN.
const require = createRequire(import.meta.url);
const scripts = {
  "/htmx.js": readFileSync(require.resolve("htmx.org/dist/htmx.min.js")),
  "/hx-sse.js": readFileSync(require.resolve("htmx.org/dist/ext/hx-sse.min.js")),
};

const broker = new EventBroker({ historySize: 100 });

// One stream, two topics: each topic's fragments land in their own target.
const events = handler(broker, ["notes", "status"], {
  swap: { notes: { target: "#notes", swap: "beforeend" }, status: "#status" },
});

// A request's own stream: htmx 4 streams the answer of this hx-post into #report.
const report = streamHandler(async (stream) => {
  for (const done of [25, 50, 75, 100]) {
    await stream.send({ data: `<progress value="${done}" max="100"></progress>` });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stream.send({ data: "<p>Report ready</p>" });
});

const page = (cursor) => `<!doctype html>
<html>
  <head>
    <script src="/htmx.js"></script>
    <script src="/hx-sse.js"></script>
  </head>
  <body>
    <div hx-sse:connect="/events?lastEventId=${encodeURIComponent(cursor)}"></div>
    <p id="status">Status: unknown</p>
    <ul id="notes"></ul>
    <form hx-post="/notes" hx-swap="none"><input name="text"><button>Add</button></form>
    <button hx-post="/reports" hx-target="#report">Run report</button>
    <div id="report"></div>
  </body>
</html>`;

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://localhost").pathname;
  if (scripts[path])
    return res.writeHead(200, { "Content-Type": "text/javascript" }).end(scripts[path]);
  if (path === "/events") return events(req, res);
  if (path === "/reports") return report(req, res);
  if (req.method === "POST" && path === "/notes") {
    let body = "";
    for await (const chunk of req) body += chunk;
    const text = new URLSearchParams(body).get("text") ?? "";
    broker.publish("notes", { data: `<li>${escapeHtml(text)}</li>` });
    return res.writeHead(204).end();
  }
  if (path === "/") {
    // The cursor: events published between rendering and connecting are not lost.
    const cursor = await broker.cursor();
    return res.writeHead(200, { "Content-Type": "text/html" }).end(page(cursor));
  }
  res.writeHead(404).end();
});

const job = setInterval(() => {
  broker.publish("status", { data: `Status: ${broker.stats().clients} watching` });
}, 1000);

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.once("SIGTERM", () => {
  clearInterval(job);
  broker.close();
  server.close();
});
