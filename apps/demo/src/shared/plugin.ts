import { setTimeout as sleep } from "node:timers/promises";
import {
  type App,
  brokerFromRegistry,
  type Config,
  ConfigError,
  type ConfigSource,
  type Configurable,
  type FlagSpec,
  type HasShutdown,
  publishFragment,
  type Registry,
} from "@burrow/sse-registry";
import { HTMX_VERSIONS, type HtmxVersion } from "./htmx.js";

/** The web frameworks the demo runs on. */
export const FRAMEWORKS = ["express", "koa", "fastify"] as const;
/** `"express"`, `"koa"` or `"fastify"`. */
export type Framework = (typeof FRAMEWORKS)[number];

/**
 * Connections the kernel queues for the server before Node accepts them, by
 * default (`--listen-backlog`). Node's own default, 511, resets connections
 * when every open page reconnects at once (after a deploy); the OS caps it at
 * its somaxconn.
 */
export const LISTEN_BACKLOG = 4096;

/** The demo's own settings, resolved from flags, environment, `burrow.toml` and defaults. */
export interface DemoSettings {
  framework: Framework;
  /** Which pages are rendered: htmx 4 (`hx-sse`) or htmx 2 (`htmx-ext-sse`). Both stream. */
  htmx: HtmxVersion;
  port: number;
  host: string;
  /** The listen backlog (`server.listen({ backlog })`); default {@link LISTEN_BACKLOG}. */
  listenBacklog: number;
  /** Milliseconds between two `stats` events; 0 turns the live status panel's feed off. */
  statsIntervalMs: number;
  /**
   * `--database-url` (`DATABASE_URL`, `demo.database_url`): the PostgreSQL
   * the broker shares its topics through, if any.
   */
  databaseUrl: string | undefined;
  /** Where the SSE app's `sse-buffer-size` came from: `"flag"`, `"env"`, `"toml"` or `"default"`. */
  bufferSizeSource: ConfigSource;
}

/**
 * The demo as a plugin app of the registry, beside the SSE app it depends
 * on: it declares its own flags (`--framework`, `--htmx`, `--port`, `--host`,
 * `--listen-backlog`, `--stats-interval`, `--database-url`), and owns every timer of the process (the live
 * statistics feed and the background jobs), so `shutdown()` stops them all
 * and the process can exit by itself.
 */
export class DemoApp implements App, Configurable, HasShutdown {
  /** The app's name in the registry. */
  readonly name = "demo";
  /** Configured after the SSE app, so its broker exists in `configure`. */
  readonly dependencies = ["sse"] as const;
  #registry: Registry | undefined;
  #settings: DemoSettings | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  // Aborted at shutdown: every pause of every job rejects, so none finishes.
  readonly #stopping = new AbortController();

  /** Keeps the registry, to reach the broker and the renderer later. */
  register(registry: Registry): void {
    this.#registry = registry;
  }

  /** The demo's flags; `--help` lists them with the SSE app's. */
  flags(): readonly FlagSpec[] {
    return [
      {
        name: "framework",
        env: "DEMO_FRAMEWORK",
        toml: "demo.framework",
        type: "string",
        default: "express",
        usage: `Web framework serving the routes: ${FRAMEWORKS.slice(0, -1).join(", ")} or ${FRAMEWORKS.at(-1)}`,
      },
      {
        name: "htmx",
        env: "DEMO_HTMX",
        toml: "demo.htmx",
        type: "int",
        default: HTMX_VERSIONS[0],
        usage: `htmx version of the pages: ${HTMX_VERSIONS.join(" or ")} (both stream on one broker)`,
      },
      {
        name: "port",
        env: "PORT",
        toml: "demo.port",
        type: "int",
        default: 3000,
        usage: "Port to listen on (0 picks a free one)",
      },
      {
        name: "host",
        env: "DEMO_HOST",
        toml: "demo.host",
        type: "string",
        default: "127.0.0.1",
        usage: "Address to listen on (0.0.0.0 for every interface)",
      },
      {
        name: "listen-backlog",
        env: "DEMO_LISTEN_BACKLOG",
        toml: "demo.listen_backlog",
        type: "int",
        default: LISTEN_BACKLOG,
        usage:
          "Connections the kernel queues before the server accepts them (a reconnect storm after a restart overflows Node's 511; the OS caps it at net.core.somaxconn)",
      },
      {
        name: "stats-interval",
        env: "DEMO_STATS_INTERVAL",
        toml: "demo.stats_interval",
        type: "int",
        default: 1000,
        usage: "Milliseconds between two live status updates (0: off)",
      },
      {
        name: "database-url",
        env: "DATABASE_URL",
        toml: "demo.database_url",
        type: "string",
        usage: "PostgreSQL connection string: share topics with every demo on that database",
      },
    ];
  }

  /** Checks the settings and starts the live statistics feed. */
  configure(config: Config): void {
    const framework = config.string("framework");
    if (!FRAMEWORKS.some((name) => name === framework)) {
      throw new ConfigError(
        `--framework: "${framework}" (from ${config.source("framework")}) is not one of ${FRAMEWORKS.join(", ")}`,
        { flag: "framework", source: config.source("framework"), value: framework },
      );
    }
    const htmx = config.int("htmx");
    if (!HTMX_VERSIONS.some((one) => one === htmx)) {
      throw new ConfigError(
        `--htmx: ${htmx} (from ${config.source("htmx")}) is not one of ${HTMX_VERSIONS.join(", ")}`,
        { flag: "htmx", source: config.source("htmx"), value: htmx },
      );
    }
    const port = config.int("port") ?? 3000;
    if (port < 0 || port > 65535) {
      throw new ConfigError(
        `--port: ${port} (from ${config.source("port")}) is not a port number (0 to 65535)`,
        { flag: "port", source: config.source("port"), value: port },
      );
    }
    const listenBacklog = config.int("listen-backlog") ?? LISTEN_BACKLOG;
    if (listenBacklog < 1) {
      throw new ConfigError(
        `--listen-backlog: ${listenBacklog} (from ${config.source("listen-backlog")}) must be at least 1, e.g. ${LISTEN_BACKLOG}`,
        { flag: "listen-backlog", source: config.source("listen-backlog"), value: listenBacklog },
      );
    }
    this.#settings = {
      framework: framework as Framework,
      htmx: htmx as HtmxVersion,
      port,
      host: config.string("host") ?? "127.0.0.1",
      listenBacklog,
      statsIntervalMs: Math.max(0, config.int("stats-interval") ?? 1000),
      databaseUrl: config.string("database-url") || undefined,
      bufferSizeSource: config.source("sse-buffer-size"),
    };
    if (this.#settings.statsIntervalMs > 0) {
      this.#statsTimer = setInterval(
        () => void this.#publishStats(),
        this.#settings.statsIntervalMs,
      );
    }
  }

  /** The resolved settings; throws before `configure`. */
  get settings(): DemoSettings {
    if (this.#settings === undefined) throw new Error("demo: settings read before configure");
    return this.#settings;
  }

  /**
   * Runs `job` in the background, outside the request that asked for it: it
   * goes on when that request's client leaves. The job waits with
   * `pause(ms)`; at shutdown every pause rejects, so a job still waiting
   * stops there. Resolves `true` when the job is done, `false` when it was
   * stopped or failed (a failure is logged); never rejects.
   */
  run(job: (pause: (ms: number) => Promise<void>) => Promise<unknown>): Promise<boolean> {
    const signal = this.#stopping.signal;
    if (signal.aborted) return Promise.resolve(false);
    const pause = (ms: number) => sleep(ms, undefined, { signal });
    return job(pause).then(
      () => true,
      (err: unknown) => {
        if (!signal.aborted) console.error("demo: background job failed:", err);
        return false;
      },
    );
  }

  /** Stops the statistics feed and every waiting job. */
  shutdown(): void {
    this.#stopping.abort();
    clearInterval(this.#statsTimer);
  }

  // The live status panel: broker.stats() rendered by the registry's renderer
  // and published on topic "stats", while anyone is connected. The figures are
  // those once this update is published (it counts itself), so that a page shows
  // what a fresh load of it would, not one event behind.
  async #publishStats(): Promise<void> {
    if (this.#registry === undefined) return;
    const now = brokerFromRegistry(this.#registry)?.stats();
    if (now === undefined || now.clients === 0 || this.#registry.renderer() === undefined) {
      return;
    }
    const stats = { ...now, published: now.published + 1 };
    try {
      await publishFragment(this.#registry, "stats", "fragments/stats.njk", { stats });
    } catch (err) {
      console.error("demo: publishing stats failed:", err);
    }
  }
}
