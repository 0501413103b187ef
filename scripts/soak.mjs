#!/usr/bin/env node
// Soak test: holds thousands of SSE clients on 127.0.0.1 for minutes while
// events flow, and prints the server's memory and event-loop delay over time.
// Not part of `pnpm test`; run with `pnpm soak` (builds first) or
// `node scripts/soak.mjs --clients 5000 --minutes 3`.
//
// Three processes: this one orchestrates and prints; a server child runs an
// EventBroker behind @burrow/sse-core's handler and publishes; a clients
// child opens the streams on raw sockets and counts what arrives. Each child
// is started through `sh -c 'ulimit -n ...; exec node ...'` so that it has
// the file descriptors it needs (up to the hard limit). Everything stops by
// itself after --minutes; the server then closes the broker and exits.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SCRIPT = fileURLToPath(import.meta.url);
const CORE = new URL("../packages/sse-core/dist/index.js", import.meta.url);

// `pnpm soak -- --clients 3000` passes the "--" through: ignore it.
const argv = process.argv.slice(2).filter((arg) => arg !== "--");
const { values: args } = parseArgs({
  args: argv,
  options: {
    role: { type: "string", default: "main" },
    clients: { type: "string", default: "5000" },
    minutes: { type: "string", default: "3" },
    topics: { type: "string", default: "50" },
    rate: { type: "string", default: "2" }, // events per second per topic
    bytes: { type: "string", default: "200" }, // size of each fragment
    interval: { type: "string", default: "15" }, // seconds between reports
    port: { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  },
});

const num = (name) => {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`soak: --${name} must be a non-negative number, got ${args[name]}`);
    process.exit(2);
  }
  return value;
};

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const RESOLUTION_MS = 10;
const excess = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

if (args.help) {
  console.log(`usage: node scripts/soak.mjs [--clients 5000] [--minutes 3] [--topics 50]
       [--rate 2 events/s per topic] [--bytes 200] [--interval 15 s]`);
} else if (args.role === "server") {
  await runServer();
} else if (args.role === "clients") {
  await runClients();
} else {
  await runMain();
}

/** The server child: broker, handler, publisher; reports every interval on stdout. */
async function runServer() {
  const { EventBroker, handlerFunc } = await import(CORE.href);
  const clients = num("clients");
  const topics = num("topics");
  const broker = new EventBroker({ bufferSize: 16 });
  const events = handlerFunc(
    broker,
    (req) => new URL(req.url ?? "/", "http://x").searchParams.get("topic") ?? "t0",
    { keepaliveMs: 15_000, maxClients: clients + 100, reconnectWindowMs: 5000 },
  );
  const server = createServer((req, res) => events(req, res));
  server.maxConnections = clients + 200;
  server.listen(num("port"), "127.0.0.1");
  await once(server, "listening");

  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const filler = "x".repeat(Math.max(0, num("bytes") - 40));
  let seq = 0;
  const perTick = Math.max(1, Math.round((topics * num("rate")) / 10));
  const publisher = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      const topic = `t${seq % topics}`;
      seq++;
      broker.publish(topic, { data: `<li id="e${seq}">${filler}</li>` });
    }
  }, 100);
  const report = (phase) => {
    const memory = process.memoryUsage();
    send({
      kind: "server",
      phase,
      ...broker.stats(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
      // The histogram holds the time between samples; report what exceeds the sampling period.
      loopP50: excess(delay.percentile(50)),
      loopP99: excess(delay.percentile(99)),
      loopMax: excess(delay.max),
    });
    delay.reset();
  };
  const reporter = setInterval(() => report("run"), num("interval") * 1000);
  send({ kind: "listening", port: server.address().port });

  const stop = () => {
    clearInterval(publisher);
    clearInterval(reporter);
    report("final");
    const started = performance.now();
    broker.close();
    server.close(() => {
      send({ kind: "closed", ms: Math.round(performance.now() - started) });
      delay.disable();
      // Nothing else holds the loop open: the process ends on its own.
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/** The clients child: opens `clients` streams in batches and counts what arrives. */
async function runClients() {
  const port = num("port");
  const total = num("clients");
  const topics = num("topics");
  let open = 0;
  let failed = 0;
  let ended = 0;
  let events = 0;
  let bytes = 0;
  const sockets = new Set();

  const openOne = (i) =>
    new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      let head = true;
      let last = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk) => {
        bytes += chunk.length;
        if (head) {
          head = false;
          if (chunk.startsWith("HTTP/1.1 200")) {
            open++;
            sockets.add(socket);
          } else failed++;
          resolve();
        }
        // Count event ends ("\n\n") across chunk boundaries; chunked framing uses \r\n.
        const text = last + chunk;
        let at = text.indexOf("\n\n");
        while (at !== -1) {
          events++;
          at = text.indexOf("\n\n", at + 2);
        }
        last = chunk.slice(-1);
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        if (sockets.delete(socket)) ended++;
        if (head) {
          failed++;
          resolve();
        }
      });
      socket.write(
        `GET /?topic=t${i % topics} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
      );
    });

  const batch = 250;
  for (let i = 0; i < total; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, total - i) }, (_, j) => openOne(i + j)));
  }
  send({ kind: "connected", open, failed });
  const reporter = setInterval(() => {
    send({ kind: "clients", open: sockets.size, failed, ended, events, bytes });
  }, num("interval") * 1000);
  reporter.unref();
  // Wait for the server to end every stream (broker.close()).
  await new Promise((resolve) => {
    const check = setInterval(() => {
      if (sockets.size === 0) {
        clearInterval(check);
        resolve();
      }
    }, 100);
  });
  send({ kind: "clients", phase: "final", open: sockets.size, failed, ended, events, bytes });
}

function child(role, extra = []) {
  const wanted = num("clients") + 1024;
  const node = [process.execPath, SCRIPT, "--role", role, ...argv, ...extra]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  // Raise the soft limit as far as the hard one allows, then become node.
  const shell = `hard=$(ulimit -Hn); want=${wanted}; if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then ulimit -n "$want"; else ulimit -n "$hard"; fi; exec ${node}`;
  const proc = spawn("sh", ["-c", shell], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout });
  return { proc, lines };
}

/** The orchestrator: starts both children, prints a table, stops after --minutes. */
async function runMain() {
  const minutes = num("minutes");
  const interval = num("interval");
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`.padStart(5);
  console.log(
    `soak: ${args.clients} clients, ${args.topics} topics, ${args.rate} events/s per topic, ` +
      `${args.bytes} B fragments, ${minutes} min, report every ${interval} s (node ${process.version})`,
  );

  const server = child("server");
  let port;
  let closedMs;
  let lastServer;
  let lastClients;
  const serverDone = once(server.proc, "exit");
  server.lines.on("line", (line) => {
    const message = JSON.parse(line);
    if (message.kind === "listening") port = message.port;
    else if (message.kind === "closed") closedMs = message.ms;
    else if (message.kind === "server") {
      lastServer = message;
      console.log(
        `${elapsed()} server[${message.phase}] clients=${message.clients} rss=${mb(message.rss)}MB ` +
          `heap=${mb(message.heapUsed)}MB loop delay p50=${message.loopP50.toFixed(1)}ms ` +
          `p99=${message.loopP99.toFixed(1)}ms max=${message.loopMax.toFixed(1)}ms ` +
          `published=${message.published} delivered=${message.delivered} dropped=${message.dropped}`,
      );
    }
  });
  while (port === undefined) {
    if (server.proc.exitCode !== null) throw new Error("soak: the server child exited early");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  const clients = child("clients", ["--port", String(port)]);
  const clientsDone = once(clients.proc, "exit");
  clients.lines.on("line", (line) => {
    const message = JSON.parse(line);
    if (message.kind === "connected") {
      console.log(`${elapsed()} clients connected: ${message.open} open, ${message.failed} failed`);
    } else if (message.kind === "clients") {
      lastClients = message;
      console.log(
        `${elapsed()} clients${message.phase ? "[final]" : ""} open=${message.open} ` +
          `frames=${message.events} bytes=${mb(message.bytes)}MB ended=${message.ended} failed=${message.failed}`,
      );
    }
  });

  await new Promise((resolve) => setTimeout(resolve, minutes * 60_000));
  console.log(`${elapsed()} stopping: SIGTERM to the server`);
  server.proc.kill("SIGTERM");
  const [code] = await serverDone;
  await clientsDone;
  console.log(
    `${elapsed()} server exited on its own with code ${code} ` +
      `(broker.close() + server.close() took ${closedMs} ms)`,
  );
  const ok =
    code === 0 &&
    lastServer?.clients === Number(args.clients) &&
    lastClients?.failed === 0 &&
    lastClients?.open === 0;
  console.log(ok ? "soak: OK" : "soak: FAILED (see figures above)");
  process.exitCode = ok ? 0 : 1;
}
