import {
  brokerFrom,
  contextHandlerFunc,
  type HandlerOptions,
  streamHandler,
} from "@burrow/sse-express";
import type { Registry } from "@burrow/sse-registry";
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from "express";
import type { Demo } from "./shared/demo.js";
import { malformedUrl, type Reply } from "./shared/http.js";
import { mountRoutes } from "./shared/routes.js";

/** Copies a framework-free {@link Reply} onto express's response. */
function send(res: Response, reply: Reply): void {
  res.status(reply.status).set(reply.headers).send(reply.body);
}

/**
 * The demo's routes on express: a thin layer over {@link Demo}. The
 * registry's middleware puts the broker on every request, the SSE endpoints
 * come from `@burrow/sse-express`, everything else is a shared action.
 */
export function expressApp(
  demo: Demo,
  registry: Registry,
  sse: HandlerOptions<Request> = {},
): Express {
  const app = express();
  app.disable("x-powered-by");

  // A path that does not percent-decode: 400 here, before the router throws on its params.
  app.use((req, res, next) => {
    const reply = malformedUrl(req.url);
    if (reply === undefined) next();
    else send(res, reply);
  });

  // Scenario 1: no broker wired by hand; brokerFrom(req) finds it on every request.
  for (const mw of registry.middleware()) app.use(mw);

  // Every route, from the shared table: the streams through @burrow/sse-express.
  mountRoutes<Request, RequestHandler>(
    demo,
    {
      raw: (req) => req,
      param: (req, name) => String(req.params[name]),
      broker: (req) => brokerFrom(req),
      route: (method, path, handler) => app[method === "GET" ? "get" : "post"](path, handler),
      stream: contextHandlerFunc,
      requestStream: streamHandler,
      page: (answer) => async (req, res) => send(res, await answer(req)),
    },
    sse,
  );

  app.use((req: Request, res: Response) => send(res, demo.notFound(req)));
  // Express 5 passes a rejected async handler's error here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return void res.end();
    send(res, demo.errorReply(err));
  });
  return app;
}
