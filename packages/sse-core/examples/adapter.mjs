import { createServer } from "node:http";
import { EventBroker } from "@burrow/sse-core";
import { frameworkHandlers } from "@burrow/sse-core/adapter";

// A tiny framework: a route is `async (ctx) => ...` that sets ctx.status and
// ctx.body, answered once it is done unless ctx.respond is false; a thrown
// error is answered with its status (a bug: 500, and logged).
function tiny(routes) {
  return createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    const query = Object.fromEntries(url.searchParams);
    const ctx = { req, res, query, status: 404, body: "not found", respond: true };
    try {
      await routes[`${req.method} ${url.pathname}`]?.(ctx);
    } catch (error) {
      ctx.status = error.status ?? 500;
      ctx.body = error.status ? error.message : "internal error";
      if (!error.status) console.error("tiny: a route failed:", error);
    }
    if (ctx.respond) res.writeHead(ctx.status).end(ctx.body);
  });
}

// Its adapter: core builds the handler set (handler, handlerFunc,
// contextHandler, contextHandlerFunc, streamHandler) from how to read a
// route's arguments, how the framework takes part in a request, and what a
// route returns. Topic functions, authorize and presence receive the ctx.
export const { handler, handlerFunc, streamHandler } = frameworkHandlers({
  read: (ctx) => ({ req: ctx.req, res: ctx.res, subject: ctx }),
  hooks: (_kind, ctx) => ({
    // Core is about to write (a stream, or a refusal such as 403): hands off.
    takeOver: () => {
      ctx.respond = false;
    },
    // A bug before that rejects the route's promise, nothing answered: the
    // framework's catch answers it, as it does any route's error.
    propagate: true,
  }),
  settle: (served) => served, // a route returns a promise: the stream's
});

// An app on that framework.
const broker = new EventBroker();
const room = (ctx) => `room:${ctx.query.room ?? "lobby"}`;
const server = tiny({
  "GET /events": handlerFunc(broker, room, { authorize: (ctx) => ctx.query.room !== "staff" }),
  "POST /say": async (ctx) => {
    broker.publish(room(ctx), { data: ctx.query.text ?? "" });
    [ctx.status, ctx.body] = [204, ""];
  },
});
server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () =>
  console.log(`listening on http://127.0.0.1:${server.address().port}`),
);

process.once("SIGTERM", () => {
  broker.close(); // ends every stream, so server.close() can complete
  server.close();
});
