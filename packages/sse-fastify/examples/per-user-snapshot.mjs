import { EventBroker } from "@burrow/sse-core";
import { handlerFunc, ssePlugin } from "@burrow/sse-fastify";
import Fastify from "fastify";

// Each user's inbox, and how their page renders it (the user comes from the session cookie).
const inboxes = { ann: ["Welcome, Ann"], bob: ["Welcome, Bob", "Invoice due"] };
const userOf = (request) => /(?:^|; )user=(\w+)/.exec(request.headers.cookie ?? "")?.[1] ?? "guest";
const renderInbox = (request) =>
  (inboxes[userOf(request)] ?? []).map((m) => `<li>${m}</li>`).join("");

// Only where the inbox region goes: what it holds depends on who asks.
const broker = new EventBroker({ historySize: 100, topics: { "inbox:*": { target: "#inbox" } } });

const fastify = Fastify();
await fastify.register(ssePlugin, { broker });
// A stream that cannot resume exactly starts with its own inbox, rendered from its request.
fastify.get(
  "/events",
  handlerFunc(broker, (request) => `inbox:${userOf(request)}`, {
    snapshot: (_topic, request) => renderInbox(request),
  }),
);

const address = await fastify.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" });
console.log(`listening on ${address}`);
// fastify.close() closes the broker first (the plugin's onClose hook).
process.once("SIGTERM", () => fastify.close());
