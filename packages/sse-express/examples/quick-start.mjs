import { createRequire } from "node:module";
import { dirname } from "node:path";
import { EventBroker } from "@burrow/sse-core";
import { contextHandler, contextHandlerFunc, middleware, requireBroker } from "@burrow/sse-express";
import express from "express";

const broker = new EventBroker();
const app = express();
app.use(express.urlencoded());

// htmx 4 and its SSE extension, served from your own node_modules (never a CDN).
const htmx = dirname(createRequire(import.meta.url).resolve("htmx.org/package.json"));
app.use("/htmx", express.static(`${htmx}/dist`));

// The page: htmx 4 connects to /events and swaps each topic into its target.
app.get("/", (_req, res) => {
  res.type("html").send(`<!doctype html>
<html>
  <head>
    <script src="/htmx/htmx.min.js"></script>
    <script src="/htmx/ext/hx-sse.min.js"></script>
  </head>
  <body>
    <div hx-sse:connect="/events"></div>
    <form hx-post="/notes" hx-swap="none"><input name="title"><button>Add</button></form>
    <ul id="notes"></ul>
    <p id="status"></p>
  </body>
</html>`);
});

// 1. Register the middleware: every request carries the broker.
app.use(middleware(broker));

// 2. Add an SSE endpoint: one stream, two topics ("notifications" and "status"). htmx 4
// (its requests carry HX-Request) gets each topic swapped into its own target; htmx 2's
// EventSource gets the same events named after their topics: one endpoint serves both.
app.get(
  "/events",
  contextHandler(["notifications", "status"], {
    swap: { notifications: { target: "#notes", swap: "beforeend" }, status: "#status" },
  }),
);

// Dynamic topics: the topics of a stream can depend on the request.
app.get(
  "/projects/:id/events",
  contextHandlerFunc((req) => `project:${req.params.id}`),
);

// 3. Publish from a handler. Escape user text: the fragment is swapped into every open page.
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
let notes = 0;
app.post("/notes", (req, res) => {
  const title = String(req.body?.title ?? "");
  // requireBroker throws, naming the fix, if middleware(broker) is missing or comes later.
  requireBroker(req).publish("notifications", { data: `<li>${escapeHtml(title)}</li>` });
  requireBroker(req).publish("status", { data: `${++notes} notes` });
  res.sendStatus(204);
});
app.post("/projects/:id/done", (req, res) => {
  // Only clients watching this project receive it.
  requireBroker(req).publish(`project:${req.params.id}`, { data: "<span>Updated</span>" });
  res.sendStatus(204);
});

// Your error handler answers a bug in a topic function (or a missing broker), as for any route.
app.use((err, _req, res, _next) => {
  console.error(err);
  res.status(500).end("Something broke");
});

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Graceful shutdown: closing the broker ends every stream, so server.close() completes.
process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
