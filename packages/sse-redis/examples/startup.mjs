import { createServer } from "node:http";
import { EventBroker, handler, SSEBackplaneError } from "@burrow/sse-core";
import { redisBackplane } from "@burrow/sse-redis";

// A malformed REDIS_URL (say, a database path that is not a number) throws SSEOptionError here.
const backplane = redisBackplane({ url: process.env.REDIS_URL, prefix: process.env.REDIS_PREFIX });
const broker = new EventBroker({ historySize: 100, backplane }); // connects to Redis

try {
  await backplane.ready({ timeoutMs: 5000 });
} catch (err) {
  if (!SSEBackplaneError.isInstance(err)) throw err;
  console.error(err.message);
  // A wrong password or database will not fix itself: stop here, with the reason.
  if (err.kind === "configuration") process.exit(1);
  // "timeout": Redis is unreachable for now; serve this process's clients until it is back.
}

const events = handler(broker, "news");
const server = createServer((req, res) => {
  if (req.url === "/events") return events(req, res);
  res.end(JSON.stringify(broker.stats().backplane)); // state: "ready", or "down"
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.once("SIGTERM", () => {
  broker.close();
  server.close();
});
