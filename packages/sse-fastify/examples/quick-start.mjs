import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { EventBroker } from "@burrow/sse-core";
import { contextHandler, contextHandlerFunc, requireBroker, ssePlugin } from "@burrow/sse-fastify";
import Fastify from "fastify";

const broker = new EventBroker();
const fastify = Fastify();
// htmx forms post urlencoded bodies.
fastify.addContentTypeParser(
  "application/x-www-form-urlencoded",
  { parseAs: "string" },
  (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body))),
);

// htmx 4 and its SSE extension, served from your own node_modules (never a CDN).
const htmx = dirname(createRequire(import.meta.url).resolve("htmx.org/package.json"));
for (const file of ["htmx.min.js", "ext/hx-sse.min.js"]) {
  const script = readFileSync(`${htmx}/dist/${file}`);
  fastify.get(`/htmx/${file}`, (_request, reply) => reply.type("text/javascript").send(script));
}

// The page: htmx 4 connects to /events and swaps each topic into its target.
fastify.get("/", (_request, reply) =>
  reply.type("text/html").send(`<!doctype html>
<html>
  <head>
    <script src="/htmx/htmx.min.js"></script>
    <script src="/htmx/ext/hx-sse.min.js"></script>
  </head>
  <body>
    <div hx-sse:connect="/events"></div>
    <form hx-post="/notes" hx-swap="none"><input name="title"><button>Add</button></form>
    <ul id="notes"></ul>
    <p id="status"></p>
  </body>
</html>`),
);

// 1. Register the plugin: every request carries the broker (request.broker),
// and fastify.close() closes it, ending every stream.
await fastify.register(ssePlugin, { broker });

// 2. Add an SSE endpoint: one stream, two topics ("notifications" and "status"). htmx 4
// (its requests carry HX-Request) gets each topic swapped into its own target; htmx 2's
// EventSource gets the same events named after their topics: one endpoint serves both.
fastify.get(
  "/events",
  contextHandler(["notifications", "status"], {
    swap: { notifications: { target: "#notes", swap: "beforeend" }, status: "#status" },
  }),
);

// Dynamic topics: the topics of a stream can depend on the request (request.params).
fastify.get(
  "/projects/:id/events",
  contextHandlerFunc((request) => `project:${request.params.id}`),
);

// 3. Publish from a handler. Escape user text: the fragment is swapped into every open page.
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
let notes = 0;
fastify.post("/notes", async (request, reply) => {
  const title = String(request.body?.title ?? "");
  // requireBroker throws, naming the fix, if the plugin is missing.
  requireBroker(request).publish("notifications", { data: `<li>${escapeHtml(title)}</li>` });
  requireBroker(request).publish("status", { data: `${++notes} notes` });
  return reply.code(204).send();
});
fastify.post("/projects/:id/done", async (request, reply) => {
  // Only clients watching this project receive it.
  requireBroker(request).publish(`project:${request.params.id}`, { data: "<span>Updated</span>" });
  return reply.code(204).send();
});

const address = await fastify.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" });
console.log(`listening on ${address}`);

// Graceful shutdown: fastify.close() closes the broker first (the plugin's
// preClose hook), which ends every stream, so the server closes at once.
process.once("SIGTERM", () => fastify.close());
