import {
  brokerFrom,
  contextHandlerFunc,
  fromNodeMiddleware,
  type HandlerOptions,
  streamHandler,
} from "@burrow/sse-koa";
import type { Registry } from "@burrow/sse-registry";
import Router from "@koa/router";
import Koa, { type Context } from "koa";
import type { Demo } from "./shared/demo.js";
import { HTMX, HTMX_VERSIONS } from "./shared/htmx.js";
import { malformedUrl, type Reply } from "./shared/http.js";

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

  // The streams of both htmx versions, on one broker: /events (htmx 2, named events) and
  // /htmx4/events (htmx 4, the `swap` option), whichever pages --htmx renders.
  for (const version of HTMX_VERSIONS) {
    const { prefix, homeSwap, projectSwap } = HTMX[version];
    // Scenarios 2, 4, 5, 8: one stream, several topics (notifications, status, stats, user:<name>).
    router.get(
      `${prefix}/events`,
      contextHandlerFunc((ctx) => demo.eventTopics(ctx.req), { ...sse, swap: homeSwap }),
    );
    // Scenario 3: dynamic topic project:<id> and its presence topic, members only (403 otherwise).
    router.get(
      `${prefix}/projects/:id/events`,
      contextHandlerFunc((ctx) => demo.projectTopics(String(ctx.params.id)), {
        ...sse,
        swap: projectSwap(demo.projectIds()),
        authorize: (ctx, topics) => demo.mayWatch(ctx.req, topics),
        // Who is viewing now: each stream joins its project's presence as the page's user.
        presence: (ctx) => demo.viewer(ctx.req),
      }),
    );
  }
  // htmx 4's report button: the answer to its POST is a stream of its own.
  router.post(
    "/htmx4/jobs",
    streamHandler((stream, ctx) => demo.streamJob(stream, ctx.req), {
      authorize: (ctx) => demo.mayStartJob(ctx.req),
    }),
  );

  router.get("/", async (ctx) => send(ctx, await demo.home(ctx.req)));
  router.get("/metrics", async (ctx) => send(ctx, await demo.metrics()));
  router.get("/assets/:name", (ctx) => send(ctx, demo.asset(ctx.req, String(ctx.params.name))));
  router.get("/projects/:id", async (ctx) =>
    send(ctx, await demo.projectPage(ctx.req, String(ctx.params.id))),
  );
  router.post("/notes", async (ctx) => send(ctx, await demo.createNote(ctx.req, brokerFrom(ctx))));
  router.post("/status", async (ctx) => send(ctx, await demo.setStatus(ctx.req, brokerFrom(ctx))));
  router.post("/projects/:id", async (ctx) =>
    send(ctx, await demo.updateProject(ctx.req, brokerFrom(ctx), String(ctx.params.id))),
  );
  router.post("/jobs", (ctx) => send(ctx, demo.startJob(ctx.req)));
  router.post("/locale", async (ctx) => send(ctx, await demo.setLocale(ctx.req)));
  router.post("/user", async (ctx) => send(ctx, await demo.setUser(ctx.req)));

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
