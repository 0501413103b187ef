import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { EventBroker, PresenceChange } from "@burrow/sse-core";
import { postgresBackplane } from "@burrow/sse-postgres";
import { brokerMetrics } from "@burrow/sse-prometheus";
import { redisBackplane } from "@burrow/sse-redis";
import {
  type App,
  brokerFromRegistry,
  ConfigError,
  type HasShutdown,
  Registry,
  SSEApp,
} from "@burrow/sse-registry";
import { Registry as MetricsRegistry } from "prom-client";
import { expressApp } from "./express.js";
import { fastifyApp } from "./fastify.js";
import { koaApp } from "./koa.js";
import { Demo } from "./shared/demo.js";
import { MemoryStore } from "./shared/memory-store.js";
import { DemoApp, type DemoSettings } from "./shared/plugin.js";
import { PostgresStore } from "./shared/postgres-store.js";
import { RedisStore } from "./shared/redis-store.js";
import type { Store } from "./shared/store.js";
import { topicPolicies } from "./shared/topic-policies.js";
import { Views } from "./shared/views.js";

/** `apps/demo/burrow.toml`: read when present, beside the app. */
export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL("../burrow.toml", import.meta.url));

/** Events kept per topic, so a browser that reconnects with `Last-Event-ID` misses nothing. */
export const HISTORY_SIZE = 100;

/** How long a viewer whose last stream closed stays listed: a reload does not flap. */
export const PRESENCE_DEBOUNCE_MS = 1000;

export { LISTEN_BACKLOG } from "./shared/plugin.js";

/** The end of `--help`: what only the environment sets (no flag, no TOML key). */
export const ENVIRONMENT_HELP = `
Environment only (no flag):
  REDIS_URL
      Redis to share topics through with every demo on it, e.g. redis://127.0.0.1:6379
      (not with --database-url)
  REDIS_PREFIX
      Prefix of the Redis keys (default "burrow-sse:"): demos share topics only on the same one
  DATABASE_PREFIX
      Prefix of the PostgreSQL tables with --database-url / DATABASE_URL (default "burrow_sse_")
`;

/** How to start the demo; everything is optional. */
export interface StartOptions {
  /** Command-line flags, e.g. `["--framework=koa", "--port=0"]`. */
  argv?: readonly string[];
  /**
   * Environment variables (`PORT`, `SSE_BUFFER_SIZE`, ...); default `process.env`.
   * With `REDIS_URL`, the broker shares its topics with every demo on that
   * Redis (`REDIS_PREFIX` separates groups of demos on one Redis); with
   * `DATABASE_URL` (or `--database-url`), through PostgreSQL
   * (`DATABASE_PREFIX`: the tables' prefix).
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** A TOML file; default `apps/demo/burrow.toml`, `null` for none. */
  configFile?: string | null;
  /**
   * Milliseconds under which a browser reconnects after the server closed
   * its stream (a random `retry:` per stream); default 2000.
   */
  reconnectWindowMs?: number;
  /**
   * How long a viewer whose last stream closed stays listed in "viewing now"
   * (a reload within it does not flap the list); default
   * {@link PRESENCE_DEBOUNCE_MS}.
   */
  presenceDebounceMs?: number;
}

/** A running demo. */
export interface RunningDemo {
  /** Where it listens, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** The `node:http` server (express's app, koa's callback or fastify's listener). */
  server: Server;
  /** The booted registry: `"sse"` then `"demo"`. */
  registry: Registry;
  /** The SSE app's broker. */
  broker: EventBroker;
  /** The framework-free routes. */
  demo: Demo;
  /** The demo's resolved settings (framework, port, ...). */
  settings: DemoSettings;
  /** Shuts the apps down (every stream ends) and closes the server. Idempotent. */
  close(): Promise<void>;
}

/** What {@link startDemo} resolves to: a running demo, or the `--help` text. */
export type StartResult = { help: string } | ({ help?: undefined } & RunningDemo);

/**
 * Boots the registry (the SSE app with history, then the demo's plugin app),
 * loads the templates, builds the express, koa or fastify app and listens. With
 * `--help` in `argv`, starts nothing and resolves to the help text. Bad
 * configuration rejects with a `ConfigError`.
 */
export async function startDemo(options: StartOptions = {}): Promise<StartResult> {
  const env = options.env ?? process.env;
  const configFile =
    options.configFile === undefined ? DEFAULT_CONFIG_FILE : (options.configFile ?? undefined);
  const bootOptions = {
    argv: [...(options.argv ?? [])],
    env,
    ...(configFile === undefined ? {} : { configFile }),
  };
  // The SSE app takes its backplane when constructed, and --database-url is a flag:
  // resolve the configuration once without one (bad values fail here), then boot for real.
  const probe = new Registry().add(new SSEApp()).add(new DemoApp());
  try {
    await probe.boot(bootOptions);
  } finally {
    await probe.shutdown();
  }
  if (probe.helpRequested) return { help: probe.helpText() + ENVIRONMENT_HELP };
  const databaseUrl = probe.get<DemoApp>("demo")?.settings.databaseUrl;
  if (databaseUrl !== undefined && env.REDIS_URL) {
    throw new ConfigError(
      "--database-url and REDIS_URL are both set: the demo shares its topics through one backplane, unset one of them",
      { flag: "database-url" },
    );
  }
  // Scale-out: with REDIS_URL or DATABASE_URL, demos on several ports (or machines) share notes live.
  const backplane = env.REDIS_URL
    ? redisBackplane({ url: env.REDIS_URL, prefix: env.REDIS_PREFIX })
    : databaseUrl !== undefined
      ? postgresBackplane({ connectionString: databaseUrl, prefix: env.DATABASE_PREFIX })
      : undefined;
  const views = new Views();
  // "Viewing now" on project pages: the broker publishes each project's member list
  // (names escaped by the template) on presence:project:<id>; a reload within a
  // second (debounceMs) publishes nothing.
  const presence = {
    debounceMs: options.presenceDebounceMs ?? PRESENCE_DEBOUNCE_MS,
    render: ({ members }: PresenceChange) =>
      views.render("fragments/viewing.njk", { members: [...members] }),
  };
  // The state, kept where the topics are shared: with a backplane, every demo on it reads
  // and changes the same notes, status and badges, so that a page loaded from any of them,
  // and a snapshot rendered by any of them, shows the same. Alone, in memory.
  const store: Store = env.REDIS_URL
    ? new RedisStore({ url: env.REDIS_URL, prefix: env.REDIS_PREFIX })
    : databaseUrl !== undefined
      ? new PostgresStore({ connectionString: databaseUrl, prefix: env.DATABASE_PREFIX })
      : new MemoryStore();
  // Convergence: the notes list's snapshot, and which topics are state (see topic-policies.ts).
  // The broker is read when a snapshot renders, once the registry has built it.
  const topics = topicPolicies({ views, store, broker: () => brokerFromRegistry(registry) });
  // The store is shut down last, once the broker has ended every stream.
  const storeApp: App & HasShutdown = { name: "store", shutdown: () => store.close() };
  const registry = new Registry()
    .add(storeApp)
    .add(new SSEApp({ historySize: HISTORY_SIZE, backplane, presence, topics }))
    .add(new DemoApp());
  try {
    await registry.boot(bootOptions);
  } catch (err) {
    await store.close();
    throw err;
  }

  const app = registry.get<DemoApp>("demo");
  const broker = brokerFromRegistry(registry);
  if (app === undefined || broker === undefined) throw new Error("demo: registry not configured");
  const { framework, htmx, port, host, listenBacklog } = app.settings;

  // Background jobs render through the registry: give it the template engine.
  registry.setRenderer(views.renderer);
  // GET /metrics: the broker's figures on a prom-client registry of this demo's own
  // (not prom-client's global one: tests run several demos in one process).
  const metrics = new MetricsRegistry();
  brokerMetrics(broker, { registry: metrics });
  const demo = new Demo({ registry, app, store, views, framework, htmx, metrics });

  const sse = { reconnectWindowMs: options.reconnectWindowMs ?? 2000 };
  // The framework's request listener on a `node:http` server of our own (the same guards
  // for all three), and how the framework shuts the registry down (every stream ends).
  let served: Server | undefined;
  let stop: () => Promise<void>;
  if (framework === "fastify") {
    const fastify = await fastifyApp(demo, registry, sse, (handler) => {
      served = serve(handler);
      return served;
    });
    // Its preClose hook shuts the registry down.
    stop = () => fastify.close();
  } else {
    served = serve(
      framework === "koa"
        ? koaApp(demo, registry, sse).callback()
        : expressApp(demo, registry, sse),
    );
    stop = () => registry.shutdown();
  }
  if (served === undefined) throw new Error("demo: no server was created");
  const server = served;
  const unused = unusedConnections(server);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host, backlog: listenBacklog }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await stop();
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    // One line for whoever started it, instead of a stack trace.
    throw new ConfigError(
      `port ${port} on ${host} is already in use (another demo still running?): stop it, or start on another port with --port 8080 (or PORT=8080; --port 0 picks a free one)`,
      { flag: "port", value: port, cause: err },
    );
  }

  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    registry,
    broker,
    demo,
    settings: app.settings,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Closing the broker ends every stream, so the server can finish closing.
        await stop();
        for (const socket of unused) socket.destroy();
        // Answers still finishing (a report's stream ends once its job stops)
        // leave a kept-alive connection idle: close each one as it gets there.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        // Bounded: whatever is still open after 5 s is cut.
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        await closed;
        clearInterval(sweep);
        clearTimeout(force);
      })();
      return closing;
    },
  };
}

/**
 * A `node:http` server for `handle` (express's app, koa's callback,
 * fastify's listener). Once the server stops accepting, a request still
 * arriving on a kept-alive socket (before the broker has closed) would open a
 * stream that is about to end, and the page would count it as connected:
 * it is refused with 503 instead, so that the browser retries against the
 * next server.
 */
function serve(handle: RequestListener): Server {
  const server = createServer((req, res) => {
    if (!server.listening) {
      res.writeHead(503, {
        Connection: "close",
        "Content-Type": "text/plain; charset=utf-8",
        "Retry-After": "1",
      });
      res.end("shutting down");
      return;
    }
    void handle(req, res);
  });
  return server;
}

/**
 * Connections of `server` that have not sent a request yet (a browser opens
 * spare ones ahead of time): not "idle" to `closeIdleConnections`, so they
 * are closed by hand at shutdown.
 */
function unusedConnections(server: Server): Set<Socket> {
  const unused = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    unused.add(socket);
    socket.once("close", () => unused.delete(socket));
  });
  server.on("request", (req) => unused.delete(req.socket));
  return unused;
}
