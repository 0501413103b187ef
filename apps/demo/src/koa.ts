import {
  brokerFrom,
  contextHandlerFunc,
  fromNodeMiddleware,
  type HandlerOptions,
  streamHandler,
} from "@burrow/sse-koa";
import type { Registry } from "@burrow/sse-registry";
import Router from "@koa/router";
import Koa, { type Context, type Middleware } from "koa";
import type { Demo } from "./shared/demo.js";
import { malformedUrl, type Reply } from "./shared/http.js";
import { mountRoutes } from "./shared/routes.js";

/** Copies a framework-free {@link Reply} onto koa's context. */
function send(ctx: Context, reply: Reply): void {
  ctx.status = reply.status;
  ctx.set(reply.headers);
  ctx.body = reply.body;
}

// A client that went away mid-response (a closed tab resets its stream) is no server error.
const CLIENT_GONE = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * The demo's routes on koa: the same actions as express, routed by
 * `@koa/router`. The registry's connect-style middleware is mounted with
 * `fromNodeMiddleware`, the SSE endpoints come from `@burrow/sse-koa`.
 */
export function koaApp(demo: Demo, registry: Registry, sse: HandlerOptions<Context> = {}): Koa {
  const app = new Koa();
  const router = new Router();

  // Every route's error is answered below; what reaches koa's "error" event is a socket
  // failing under a response (koa's default would print each client reset's stack).
  app.on("error", (err: NodeJS.ErrnoException) => {
    if (!CLIENT_GONE.has(err.code ?? "")) console.error("demo: request failed:", err);
  });

  // Errors of any route (an HttpError's status, else 500) and unrouted paths (404 page).
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null && ctx.respond !== false) {
        send(ctx, demo.notFound(ctx.req));
      }
    } catch (err) {
      send(ctx, demo.errorReply(err));
    }
  });

  // A path that does not percent-decode: 400, the same answer as on express.
  app.use(async (ctx, next) => {
    const reply = malformedUrl(ctx.req.url);
    if (reply === undefined) await next();
    else send(ctx, reply);
  });

  // Scenario 1: no broker wired by hand; brokerFrom(ctx) finds it on every request.
  for (const mw of registry.middleware()) app.use(fromNodeMiddleware(mw));

  // Every route, from the shared table: the streams through @burrow/sse-koa.
  mountRoutes<Context, Middleware>(
    demo,
    {
      raw: (ctx) => ctx.req,
      param: (ctx, name) => String(ctx.params[name]),
      broker: (ctx) => brokerFrom(ctx),
      route: (method, path, handler) => router[method === "GET" ? "get" : "post"](path, handler),
      stream: contextHandlerFunc,
      requestStream: streamHandler,
      page: (answer) => async (ctx) => send(ctx, await answer(ctx)),
    },
    sse,
  );

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
