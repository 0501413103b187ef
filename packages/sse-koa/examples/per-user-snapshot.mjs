import { EventBroker } from "@burrow/sse-core";
import { handlerFunc } from "@burrow/sse-koa";
import Router from "@koa/router";
import Koa from "koa";

// Each user's inbox, and how their page renders it (the user comes from the session cookie).
const inboxes = { ann: ["Welcome, Ann"], bob: ["Welcome, Bob", "Invoice due"] };
const userOf = (ctx) => ctx.cookies.get("user") ?? "guest";
const renderInbox = (ctx) => (inboxes[userOf(ctx)] ?? []).map((m) => `<li>${m}</li>`).join("");

// Only where the inbox region goes: what it holds depends on who asks.
const broker = new EventBroker({ historySize: 100, topics: { "inbox:*": { target: "#inbox" } } });

const app = new Koa();
const router = new Router();
// A stream that cannot resume exactly starts with its own inbox, rendered from its ctx.
router.get(
  "/events",
  handlerFunc(broker, (ctx) => `inbox:${userOf(ctx)}`, {
    snapshot: (_topic, ctx) => renderInbox(ctx),
  }),
);
app.use(router.routes());

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
