import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { EventBroker, handler } from "@burrow/sse-core";

// htmx 4 and its SSE extension, served from your own node_modules (never a CDN).
const require = createRequire(import.meta.url);
const scripts = {
  "/htmx.js": readFileSync(require.resolve("htmx.org/dist/htmx.min.js")),
  "/hx-sse.js": readFileSync(require.resolve("htmx.org/dist/ext/hx-sse.min.js")),
};

const broker = new EventBroker();
const events = handler(broker, "notifications");

const page = `<!doctype html>
<title>Burrow SSE</title>
<script src="/htmx.js"></script>
<script src="/hx-sse.js"></script>
<p>Open this page in a second window: each visit appears in every open one.</p>
<ul hx-sse:connect="/events" hx-swap="beforeend"></ul>`;

const server = createServer((req, res) => {
  if (req.url === "/events") return events(req, res);
  if (scripts[req.url]) {
    return res.writeHead(200, { "Content-Type": "text/javascript" }).end(scripts[req.url]);
  }
  if (req.url !== "/") return res.writeHead(404).end();
  broker.publish("notifications", { data: "<li>Someone visited</li>" });
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(page);
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Ctrl-C: closing the broker ends every stream, so the server can close.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    broker.close();
    server.close();
  });
}
