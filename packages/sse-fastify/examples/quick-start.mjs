import { EventBroker } from "@burrow/sse-core";
import { contextHandler, contextHandlerFunc, ssePlugin } from "@burrow/sse-fastify";
import Fastify from "fastify";

const broker = new EventBroker();
const fastify = Fastify();
// htmx forms post urlencoded bodies.
fastify.addContentTypeParser(
  "application/x-www-form-urlencoded",
  { parseAs: "string" },
  (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body))),
);

// 1. Register the plugin: every request carries the broker (request.broker),
// and fastify.close() closes it, ending every stream.
await fastify.register(ssePlugin, { broker });

// 2. Add an SSE endpoint: one stream, two topics ("notifications" and "status").
fastify.get("/events", contextHandler(["notifications", "status"]));

// htmx 4 pages: the same topics as unnamed messages, each into its own target.
fastify.get(
  "/v4/events",
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
  request.broker?.publish("notifications", { data: `<li>${escapeHtml(title)}</li>` });
  request.broker?.publish("status", { data: `${++notes} notes` });
  return reply.code(204).send();
});
fastify.post("/projects/:id/done", async (request, reply) => {
  // Only clients watching this project receive it.
  request.broker?.publish(`project:${request.params.id}`, { data: "<span>Updated</span>" });
  return reply.code(204).send();
});

const address = await fastify.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" });
console.log(`listening on ${address}`);

// Graceful shutdown: fastify.close() closes the broker first (the plugin's
// preClose hook), which ends every stream, so the server closes at once.
process.once("SIGTERM", () => fastify.close());
