import { createServer } from "node:http";
import { EventBroker, handlerFunc } from "@burrow/sse-core";

const broker = new EventBroker();
const members = new Map([["ann", new Set(["42"])]]); // who may watch which project

const projectEvents = handlerFunc(
  broker,
  (req) => `project:${new URL(req.url, "http://localhost").searchParams.get("id")}`,
  {
    // Runs before anything is subscribed: false answers 403.
    authorize: (req, topics) => {
      const user = req.headers["x-user"]; // your session lookup here
      return topics.every((topic) => members.get(user)?.has(topic.slice("project:".length)));
    },
    maxClients: 5_000, // 503 with Retry-After past it
    keepaliveMs: 15_000,
  },
);

const server = createServer(projectEvents).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
server.once("listening", async () => {
  const url = `http://127.0.0.1:${server.address().port}/?id=42`;
  const stranger = await fetch(url);
  const ann = await fetch(url, { headers: { "X-User": "ann" } });
  console.log(stranger.status, ann.status); // 403 200
  broker.close();
  server.close();
});
