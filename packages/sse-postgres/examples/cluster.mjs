import cluster from "node:cluster";
import { once } from "node:events";
import { createServer } from "node:http";
import { availableParallelism } from "node:os";
import { EventBroker, handler, SSEBackplaneError } from "@burrow/sse-core";
import { postgresBackplane } from "@burrow/sse-postgres";

// WORKERS processes (default: one per core) share one port and one PostgreSQL. Any
// of them serves any client and resumes it with Last-Event-ID: no sticky
// sessions. SIGHUP to the primary restarts the workers one at a time; SIGTERM
// stops them all.
if (cluster.isPrimary) {
  const count = Number(process.env.WORKERS ?? availableParallelism());
  // A worker's port once it listens; rejects if it exits first.
  const listening = (worker) =>
    new Promise((resolve, reject) => {
      worker.once("listening", (address) => resolve(address.port));
      worker.once("exit", (code) => reject(new Error(`worker exited (${code}) before listening`)));
    });
  const ports = await Promise.all(Array.from({ length: count }, () => listening(cluster.fork())));
  console.log(`listening on http://127.0.0.1:${ports[0]} (${count} workers)`);

  let restarting = false;
  process.on("SIGHUP", async () => {
    if (restarting) return;
    restarting = true;
    try {
      for (const old of Object.values(cluster.workers)) {
        await listening(cluster.fork()); // the new one serves before the old one stops
        old.process.kill("SIGTERM");
        await once(old, "exit");
        console.log(`worker ${old.id} replaced`);
      }
      console.log("rolling restart done");
    } catch (err) {
      console.error(`rolling restart stopped: ${err.message}`); // the old workers still serve
    }
    restarting = false;
  });
  process.once("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers)) worker.process.kill("SIGTERM");
  });
} else {
  const backplane = postgresBackplane({
    connectionString: process.env.DATABASE_URL, // e.g. postgres://app:secret@127.0.0.1:5432/app
    prefix: process.env.SSE_PREFIX, // tables and channels: burrow_sse_* by default
  });
  // historySize per topic, in PostgreSQL: what a client may miss while it reconnects.
  const broker = new EventBroker({ historySize: 1000, backplane });
  const events = handler(broker, "notes", {
    // On shutdown each stream gets `retry:` below this, so its clients come back spread out.
    reconnectWindowMs: Number(process.env.RECONNECT_WINDOW_MS ?? 5000),
  });

  const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  const server = createServer(async (req, res) => {
    if (req.method === "GET" && req.url === "/events") return events(req, res);
    if (req.method === "POST" && req.url === "/notes") {
      let text = "";
      for await (const chunk of req) text += chunk;
      broker.publish("notes", {
        data: `<li>${escapeHtml(text)} (worker ${cluster.worker.id})</li>`,
      });
      return res.writeHead(204).end();
    }
    res.writeHead(404).end();
  });

  // Serve once PostgreSQL can resume a client. If it cannot (down, or refusing the
  // configuration: the message says why), serve anyway: this worker's clients
  // get its own events until the backplane, which keeps trying, is back.
  await backplane.ready({ timeoutMs: 5000 }).catch((err) => {
    if (!SSEBackplaneError.isInstance(err)) throw err;
    console.error(err.message);
  });
  server.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1", backlog: 4096 });

  process.once("SIGTERM", () => {
    broker.close(); // each stream gets its retry: and ends; PostgreSQL connections close
    cluster.worker.disconnect(); // closes the server, then the channel: the worker exits
  });
}
