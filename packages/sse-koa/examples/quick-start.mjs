import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { EventBroker } from "@burrow/sse-core";
import { contextHandler, contextHandlerFunc, middleware, requireBroker } from "@burrow/sse-koa";
import Router from "@koa/router";
import Koa from "koa";

const broker = new EventBroker();
const app = new Koa();
const router = new Router();

// htmx 4 and its SSE extension, served from your own node_modules (never a CDN).
const htmx = dirname(createRequire(import.meta.url).resolve("htmx.org/package.json"));
for (const file of ["htmx.min.js", "ext/hx-sse.min.js"]) {
  router.get(`/htmx/${file}`, (ctx) => {
    ctx.type = "js";
    ctx.body = createReadStream(`${htmx}/dist/${file}`);
  });
}

// The page: htmx 4 connects to /events and swaps each topic into its target.
router.get("/", (ctx) => {
  ctx.type = "html";
  ctx.body = `<!doctype html>
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
</html>`;
});

// 1. Register the middleware: every request carries the broker.
app.use(middleware(broker));

// 2. Add an SSE endpoint: one stream, two topics ("notifications" and "status"). htmx 4
// (its requests carry HX-Request) gets each topic swapped into its own target; htmx 2's
// EventSource gets the same events named after their topics: one endpoint serves both.
router.get(
  "/events",
  contextHandler(["notifications", "status"], {
    swap: { notifications: { target: "#notes", swap: "beforeend" }, status: "#status" },
  }),
);

// Dynamic topics: the topics of a stream can depend on the request (ctx.params).
router.get(
  "/projects/:id/events",
  contextHandlerFunc((ctx) => `project:${ctx.params.id}`),
);

// 3. Publish from a handler. Escape user text: the fragment is swapped into every open page.
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
let notes = 0;
router.post("/notes", async (ctx) => {
  let form = "";
  for await (const chunk of ctx.req) form += chunk;
  const title = new URLSearchParams(form).get("title") ?? "";
  // requireBroker throws, naming the fix, if middleware(broker) is missing or comes later.
  requireBroker(ctx).publish("notifications", { data: `<li>${escapeHtml(title)}</li>` });
  requireBroker(ctx).publish("status", { data: `${++notes} notes` });
  ctx.status = 204;
});
router.post("/projects/:id/done", (ctx) => {
  // Only clients watching this project receive it.
  requireBroker(ctx).publish(`project:${ctx.params.id}`, { data: "<span>Updated</span>" });
  ctx.status = 204;
});

// allowedMethods: a POST to a GET-only route (/events) is answered 405, not 404.
app.use(router.routes()).use(router.allowedMethods());
const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Graceful shutdown: closing the broker ends every stream, so server.close() completes.
process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
