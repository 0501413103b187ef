import { EventBroker } from "@burrow/sse-core";
import { handlerFunc } from "@burrow/sse-express";
import express from "express";

// Each user's inbox, and how their page renders it (the user comes from the session cookie).
const inboxes = { ann: ["Welcome, Ann"], bob: ["Welcome, Bob", "Invoice due"] };
const userOf = (req) => /(?:^|; )user=(\w+)/.exec(req.get("cookie") ?? "")?.[1] ?? "guest";
const renderInbox = (req) => (inboxes[userOf(req)] ?? []).map((m) => `<li>${m}</li>`).join("");

// Only where the inbox region goes: what it holds depends on who asks.
const broker = new EventBroker({ historySize: 100, topics: { "inbox:*": { target: "#inbox" } } });

const app = express();
// A stream that cannot resume exactly starts with its own inbox, rendered from its req.
app.get(
  "/events",
  handlerFunc(broker, (req) => `inbox:${userOf(req)}`, {
    snapshot: (_topic, req) => renderInbox(req),
  }),
);

const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
