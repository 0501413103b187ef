import { createServer } from "node:http";
import { EventBroker } from "@burrow/sse-core";
import {
  serveEvents,
  validateBroker,
  validateOptions,
  validateTopicsFn,
  withOnError,
} from "@burrow/sse-core/adapter";

// The adapter, for a framework whose handlers take one `ctx` ({ req, res, query, log }).
// Arguments are checked once, when the handler is created; each request is one serveEvents.
function sseHandlerFunc(broker, topicsFn, options) {
  validateBroker(broker);
  validateTopicsFn(topicsFn);
  validateOptions(options);
  // A bug (a topic function or authorize that threw) goes to the framework's log.
  const withLog = withOnError(options, (error, ctx) => ctx.log(`sse: ${error.message}`));
  // authorize and onError receive `ctx`: the last argument of serveEvents.
  return (ctx) => serveEvents(ctx.req, ctx.res, broker, () => topicsFn(ctx), withLog, ctx);
}

// An app on that framework.
const broker = new EventBroker();
const events = sseHandlerFunc(broker, (ctx) => `room:${ctx.query.room ?? "lobby"}`, {
  authorize: (ctx) => ctx.query.room !== "staff",
});

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  const ctx = { req, res, query: Object.fromEntries(url.searchParams), log: console.error };
  if (url.pathname === "/events") return void events(ctx);
  if (url.pathname === "/say" && req.method === "POST") {
    broker.publish(`room:${ctx.query.room ?? "lobby"}`, { data: ctx.query.text ?? "" });
    return void res.writeHead(204).end();
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () =>
  console.log(`listening on http://127.0.0.1:${server.address().port}`),
);

process.once("SIGTERM", () => {
  broker.close(); // ends every stream, so server.close() can complete
  server.close();
});
