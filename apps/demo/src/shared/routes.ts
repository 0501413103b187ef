import type { IncomingMessage } from "node:http";
import type {
  EventBroker,
  HandlerOptions,
  StreamOptions,
  StreamProducer,
  TopicsFn,
} from "@burrow/sse-core";
import type { Demo } from "./demo.js";
import { HTMX, HTMX_VERSIONS } from "./htmx.js";
import type { Reply } from "./http.js";

// The demo's routes as one table, framework-free: each entry point (express,
// koa, fastify) only mounts them with its own router and its adapter's
// handlers, so no route is written three times.

/**
 * What an entry point gives the shared routes: how its request (`R`:
 * express's `req`, koa's `ctx`, fastify's `request`) reads, and how its
 * router and adapter mount a handler (`H`) of each kind.
 */
export interface FrameworkParts<R, H> extends RequestParts<R> {
  /** Registers `handler` for `method` on `path` (`:id` parameters). */
  route(method: "GET" | "POST", path: string, handler: H): void;
  /** The adapter's `contextHandlerFunc`. */
  stream(topics: TopicsFn<R>, options: HandlerOptions<R>): H;
  /** The adapter's `streamHandler`. */
  requestStream(produce: StreamProducer<R>, options: StreamOptions<R>): H;
  /** A handler answering what `answer(request)` gives. */
  page(answer: (request: R) => Reply | Promise<Reply>): H;
}

/**
 * Mounts every route of the demo through `parts`: the SSE endpoints
 * (scenarios 2 to 5, 8), htmx 4's report stream, then the pages, assets,
 * `/metrics` and forms. `sse`: options every SSE endpoint takes.
 */
export function mountRoutes<R, H>(
  demo: Demo,
  parts: FrameworkParts<R, H>,
  sse: HandlerOptions<R> = {},
): void {
  for (const { path, topics, options } of streamRoutes(demo, parts, sse)) {
    parts.route("GET", path, parts.stream(topics, options));
  }
  const job = jobStreamRoute(demo, parts);
  parts.route(job.method, job.path, parts.requestStream(job.produce, job.options));
  for (const { method, path, answer } of pageRoutes(demo, parts)) {
    parts.route(method, path, parts.page(answer));
  }
}

/** How a framework's request (`R`: express's `req`, koa's `ctx`, fastify's `request`) gives the shared routes what they read. */
export interface RequestParts<R> {
  /** Node's request under it. */
  raw(request: R): IncomingMessage;
  /** The route parameter `name` (`:id`). */
  param(request: R, name: string): string;
  /** The broker the adapter put on this request (its `brokerFrom` or `requireBroker`). */
  broker(request: R): EventBroker | undefined;
}

/** An SSE endpoint: the topics of each request, and the handler's options. */
export interface StreamRoute<R> {
  path: string;
  topics: TopicsFn<R>;
  options: HandlerOptions<R>;
}

/**
 * The streams of both htmx versions, on one broker: `/events` (htmx 2, named
 * events) and `/htmx4/events` (htmx 4, the `swap` option), and each version's
 * project streams, whichever pages `--htmx` renders. `sse`: options every
 * stream takes (e.g. `reconnectWindowMs`).
 */
export function streamRoutes<R>(
  demo: Demo,
  parts: RequestParts<R>,
  sse: HandlerOptions<R> = {},
): StreamRoute<R>[] {
  return HTMX_VERSIONS.flatMap((version) => {
    const { prefix, homeSwap, projectSwap, snapshotOnConnect } = HTMX[version];
    return [
      // Scenarios 2, 4, 5, 8: one stream, several topics (notifications, status, stats, user:<name>).
      {
        path: `${prefix}/events`,
        topics: (request: R) => demo.streams.eventTopics(parts.raw(request)),
        options: { ...sse, swap: homeSwap, snapshotOnConnect },
      },
      // Scenario 3: dynamic topic project:<id> and its presence topic, members only (403 otherwise).
      {
        path: `${prefix}/projects/:id/events`,
        topics: (request: R) => demo.streams.projectTopics(parts.param(request, "id")),
        options: {
          ...sse,
          swap: projectSwap(demo.streams.projectIds()),
          snapshotOnConnect,
          authorize: (request: R, topics: readonly string[]) =>
            demo.streams.mayWatch(parts.raw(request), topics),
          // Who is viewing now: each stream joins its project's presence as the page's user.
          presence: (request: R) => demo.streams.viewer(parts.raw(request)),
        },
      },
    ];
  });
}

/** A route whose answer is a stream of its own (`streamHandler`). */
export interface RequestStreamRoute<R> {
  method: "POST";
  path: string;
  produce: StreamProducer<R>;
  options: StreamOptions<R>;
}

/** htmx 4's report button: the answer to its POST is a stream of its own. */
export function jobStreamRoute<R>(demo: Demo, parts: RequestParts<R>): RequestStreamRoute<R> {
  return {
    method: "POST",
    path: "/htmx4/jobs",
    produce: (stream, request) => demo.jobs.streamJob(stream, parts.raw(request)),
    options: { authorize: (request) => demo.jobs.mayStartJob(parts.raw(request)) },
  };
}

/** A page, asset or form route: its answer is a {@link Reply}. */
export interface PageRoute<R> {
  method: "GET" | "POST";
  path: string;
  answer(request: R): Reply | Promise<Reply>;
}

/** Every route that answers a {@link Reply}: pages, assets, `/metrics`, the forms. */
export function pageRoutes<R>(demo: Demo, parts: RequestParts<R>): PageRoute<R>[] {
  const { raw, param, broker } = parts;
  return [
    { method: "GET", path: "/", answer: (r) => demo.pages.home(raw(r)) },
    { method: "GET", path: "/metrics", answer: () => demo.pages.metrics() },
    {
      method: "GET",
      path: "/assets/:name",
      answer: (r) => demo.pages.asset(raw(r), param(r, "name")),
    },
    {
      method: "GET",
      path: "/projects/:id",
      answer: (r) => demo.pages.projectPage(raw(r), param(r, "id")),
    },
    { method: "POST", path: "/notes", answer: (r) => demo.forms.createNote(raw(r), broker(r)) },
    { method: "POST", path: "/status", answer: (r) => demo.forms.setStatus(raw(r), broker(r)) },
    {
      method: "POST",
      path: "/projects/:id",
      answer: (r) => demo.forms.updateProject(raw(r), broker(r), param(r, "id")),
    },
    { method: "POST", path: "/jobs", answer: (r) => demo.jobs.startJob(raw(r)) },
    { method: "POST", path: "/locale", answer: (r) => demo.forms.setLocale(raw(r)) },
    { method: "POST", path: "/user", answer: (r) => demo.forms.setUser(raw(r)) },
  ];
}
