import {
  brokerFrom,
  contextHandlerFunc,
  type HandlerOptions,
  streamHandler,
} from "@burrow/sse-express";
import type { Registry } from "@burrow/sse-registry";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Demo } from "./shared/demo.js";
import { HTMX, HTMX_VERSIONS } from "./shared/htmx.js";
import { malformedUrl, type Reply } from "./shared/http.js";

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

  // The streams of both htmx versions, on one broker: /events (htmx 2, named events) and
  // /htmx4/events (htmx 4, the `swap` option), whichever pages --htmx renders.
  for (const version of HTMX_VERSIONS) {
    const { prefix, homeSwap, projectSwap } = HTMX[version];
    // Scenarios 2, 4, 5, 8: one stream, several topics (notifications, status, stats, user:<name>).
    app.get(
      `${prefix}/events`,
      contextHandlerFunc((req) => demo.eventTopics(req), { ...sse, swap: homeSwap }),
    );
    // Scenario 3: dynamic topic project:<id> and its presence topic, members only (403 otherwise).
    app.get(
      `${prefix}/projects/:id/events`,
      contextHandlerFunc((req) => demo.projectTopics(String(req.params.id)), {
        ...sse,
        swap: projectSwap(demo.projectIds()),
        authorize: (req, topics) => demo.mayWatch(req, topics),
        // Who is viewing now: each stream joins its project's presence as the page's user.
        presence: (req) => demo.viewer(req),
      }),
    );
  }
  // htmx 4's report button: the answer to its POST is a stream of its own.
  app.post(
    "/htmx4/jobs",
    streamHandler((stream, req) => demo.streamJob(stream, req), {
      authorize: (req) => demo.mayStartJob(req),
    }),
  );

  app.get("/", async (req, res) => send(res, await demo.home(req)));
  app.get("/metrics", async (_req, res) => send(res, await demo.metrics()));
  app.get("/assets/:name", (req, res) => send(res, demo.asset(req, String(req.params.name))));
  app.get("/projects/:id", async (req, res) =>
    send(res, await demo.projectPage(req, String(req.params.id))),
  );
  app.post("/notes", async (req, res) => send(res, await demo.createNote(req, brokerFrom(req))));
  app.post("/status", async (req, res) => send(res, await demo.setStatus(req, brokerFrom(req))));
  app.post("/projects/:id", async (req, res) =>
    send(res, await demo.updateProject(req, brokerFrom(req), String(req.params.id))),
  );
  app.post("/jobs", (req, res) => send(res, demo.startJob(req)));
  app.post("/locale", async (req, res) => send(res, await demo.setLocale(req)));
  app.post("/user", async (req, res) => send(res, await demo.setUser(req)));

  app.use((req: Request, res: Response) => send(res, demo.notFound(req)));
  // Express 5 passes a rejected async handler's error here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return void res.end();
    send(res, demo.errorReply(err));
  });
  return app;
}
