import { createServer } from "node:http";
import { EventBroker, handlerFunc } from "@burrow/sse-core";

// Each user's inbox, and how their page renders it (the user comes from the session cookie).
const inboxes = { ann: ["Welcome, Ann"], bob: ["Welcome, Bob", "Invoice due"] };
const userOf = (req) => /(?:^|; )user=(\w+)/.exec(req.headers.cookie ?? "")?.[1] ?? "guest";
const renderInbox = (req) => (inboxes[userOf(req)] ?? []).map((m) => `<li>${m}</li>`).join("");

const broker = new EventBroker({
  historySize: 100,
  // Only where the region goes: what it holds depends on who asks.
  topics: { "inbox:*": { target: "#inbox" } },
});
// Each stream renders its own snapshot, from its request.
const events = handlerFunc(broker, (req) => `inbox:${userOf(req)}`, {
  snapshot: (_topic, req) => renderInbox(req),
});
const server = createServer(events).listen(0);
const url = `http://localhost:${server.address().port}/`;

// Two tabs come back with an id the broker no longer knows: each gets its own inbox, whole.
for (const user of ["ann", "bob"]) {
  const res = await fetch(url, { headers: { cookie: `user=${user}`, "last-event-id": "gone" } });
  let text = "";
  for await (const chunk of res.body) {
    text += Buffer.from(chunk).toString();
    if (text.includes("\n\n")) break;
  }
  console.log(user, /^data: (.*)$/m.exec(text)[1]);
}
console.log(broker.stats().snapshots);
broker.close();
server.close();
server.closeAllConnections(); // fetch keeps its connections alive
