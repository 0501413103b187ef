import { createServer } from "node:http";
import { EventBroker, handler } from "@burrow/sse-core";

const broker = new EventBroker({ bufferSize: 32 });
// One endpoint for htmx 4 (each topic into its own target) and htmx 2 (named events).
const events = handler(broker, ["notifications", "status"], {
  swap: { notifications: { target: "#notes", swap: "beforeend" }, status: "#status" },
});

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/events") return events(req, res);
  if (req.method === "POST" && req.url === "/notes") {
    let title = "";
    for await (const chunk of req) title += chunk;
    // Escape user text: the fragment is swapped into every open browser.
    broker.publish("notifications", { data: `<li>${escapeHtml(title)}</li>` });
    return res.writeHead(204).end();
  }
  res.writeHead(404).end();
});

// Publishing from code outside any request: a background job.
const job = setInterval(() => {
  broker.publish("status", { data: `<span>${broker.stats().clients} watching</span>` });
}, 1000);

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

process.once("SIGTERM", () => {
  clearInterval(job);
  broker.close(); // ends every stream, so server.close() can complete
  server.close();
});
