import { EventBroker, fetchHandler } from "@burrow/sse-core";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const broker = new EventBroker({ historySize: 100 });
const events = fetchHandler(broker, "notifications");
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const app = new Hono();
// Hono hands over the standard Request; fetchHandler answers with a streaming Response.
app.get("/events", (c) => events(c.req.raw));
app.post("/notes", async (c) => {
  const { title = "" } = await c.req.parseBody();
  broker.publish("notifications", { data: `<li>${escapeHtml(String(title))}</li>` });
  return c.body(null, 204);
});
app.get("/stats", (c) => c.json(broker.stats()));

const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: "127.0.0.1" },
  (info) => console.log(`listening on http://127.0.0.1:${info.port}`),
);

process.once("SIGTERM", () => {
  broker.close(); // ends every stream
  server.close(); // stops accepting; the process exits once no connection is left
  // An ended stream leaves its connection open for another request (keep-alive), and
  // server.close() closed only the connections idle then: close the rest as they go idle.
  setInterval(() => server.closeIdleConnections(), 100).unref();
});
