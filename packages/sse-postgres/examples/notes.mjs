import { createServer } from "node:http";
import { EventBroker, handler } from "@burrow/sse-core";
import { postgresBackplane } from "@burrow/sse-postgres";

// Run it twice, on two ports: both processes share one topic space through PostgreSQL.
const broker = new EventBroker({
  historySize: 100, // per topic, kept in PostgreSQL: a client resumes on either process
  backplane: postgresBackplane({
    connectionString: process.env.DATABASE_URL, // e.g. postgres://app:secret@127.0.0.1:5432/app
    prefix: process.env.SSE_PREFIX, // tables and channels: burrow_sse_* by default
  }),
});
// Who is reading notes, on every process: /events?name=ann names the stream's member.
const events = handler(broker, "notes", {
  presence: (req) => {
    const name = new URL(req.url, "http://x").searchParams.get("name");
    return name ? { id: name } : undefined;
  },
});

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  if (req.method === "GET" && path === "/events") return events(req, res);
  if (req.method === "GET" && path === "/members") {
    // The same list on every process: [{ "id": "ann", "connections": 1 }, ...]
    return res.end(JSON.stringify(await broker.members("notes")));
  }
  if (req.method === "POST" && path === "/notes") {
    let text = "";
    for await (const chunk of req) text += chunk;
    const port = server.address().port;
    broker.publish("notes", { data: `<li>${escapeHtml(text)} (via :${port})</li>` });
    return res.writeHead(204).end();
  }
  if (req.method === "GET" && path === "/health") {
    // state: "ready", or "down" while PostgreSQL is unreachable (local delivery goes on).
    return res.end(JSON.stringify(broker.stats().backplane));
  }
  res.writeHead(404).end();
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.once("SIGTERM", () => {
  broker.close(); // ends every stream and closes the PostgreSQL connections
  server.close();
});
