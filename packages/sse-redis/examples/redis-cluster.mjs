import { createServer } from "node:http";
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { redisBackplane } from "@burrow/sse-redis";

// CLUSTER_NODES="127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002": some nodes of a Redis Cluster (7+).
const nodes = (process.env.CLUSTER_NODES ?? "127.0.0.1:7000").split(",");
const backplane = redisBackplane({ cluster: { nodes }, prefix: process.env.REDIS_PREFIX });
const broker = new EventBroker({ historySize: 100, backplane, resumeMissEvent: "resync" });
await backplane.ready(); // rejects with the fix when the nodes are not a Redis Cluster 7+

// A room's topics share the hash tag {<room>}: one master orders them, and a client resumes them exactly.
const roomTopics = (room) => [`room:{${room}}:chat`, `room:{${room}}:users`];
const roomOf = (req) => new URL(req.url, "http://x").searchParams.get("room") ?? "lobby";
const events = handlerFunc(broker, (req) => roomTopics(roomOf(req)));

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/events") return events(req, res);
  if (req.method === "POST" && url.pathname === "/say") {
    broker.publish(roomTopics(roomOf(req))[0], { data: url.searchParams.get("text") ?? "" });
    return res.end("sent\n");
  }
  res.end(JSON.stringify(broker.stats().backplane));
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
