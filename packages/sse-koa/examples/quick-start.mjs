import { EventBroker } from "@burrow/sse-core";
import { brokerFrom, contextHandler, contextHandlerFunc, middleware } from "@burrow/sse-koa";
import Router from "@koa/router";
import Koa from "koa";

const broker = new EventBroker();
const app = new Koa();
const router = new Router();

// 1. Register the middleware: every request carries the broker.
app.use(middleware(broker));

// 2. Add an SSE endpoint: one stream, two topics ("notifications" and "status").
router.get("/events", contextHandler(["notifications", "status"]));

// htmx 4 pages: the same topics as unnamed messages, each into its own target.
router.get(
  "/v4/events",
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
  brokerFrom(ctx)?.publish("notifications", { data: `<li>${escapeHtml(title)}</li>` });
  brokerFrom(ctx)?.publish("status", { data: `${++notes} notes` });
  ctx.status = 204;
});
router.post("/projects/:id/done", (ctx) => {
  // Only clients watching this project receive it.
  brokerFrom(ctx)?.publish(`project:${ctx.params.id}`, { data: "<span>Updated</span>" });
  ctx.status = 204;
});

app.use(router.routes());
const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Graceful shutdown: closing the broker ends every stream, so server.close() completes.
process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
