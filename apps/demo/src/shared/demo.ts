import type { IncomingMessage } from "node:http";
import type { Registry } from "@burrow/sse-registry";
import type { Registry as MetricsRegistry } from "prom-client";
import { Forms } from "./forms.js";
import { HTMX, type HtmxVersion } from "./htmx.js";
import { HttpError, type Reply } from "./http.js";
import { Jobs } from "./jobs.js";
import { PageRenderer } from "./page-renderer.js";
import { Pages } from "./pages.js";
import type { DemoApp, Framework } from "./plugin.js";
import type { Store } from "./store.js";
import { Streams } from "./streams.js";
import type { Views } from "./views.js";

/** What {@link Demo} needs: the booted registry and the shared pieces. */
export interface DemoOptions {
  registry: Registry;
  app: DemoApp;
  store: Store;
  views: Views;
  framework: Framework;
  /** Which pages to render; the stream routes of both versions are always served. */
  htmx: HtmxVersion;
  /** The prom-client registry `GET /metrics` serves (the broker's metrics joined it). */
  metrics: MetricsRegistry;
}

/**
 * Every route of the demo, framework-free, in four parts: {@link Pages},
 * {@link Forms}, {@link Jobs} and {@link Streams}. Each action takes Node's
 * request (express's `req` and koa's `ctx.req` are one) and, when it
 * publishes, the broker the registry's middleware put on that request, and
 * answers a {@link Reply}. The express, koa and fastify entry points only
 * route (`mountRoutes`) and copy replies.
 */
export class Demo {
  /** What a `GET` answers: the pages, the assets, `/metrics`. */
  readonly pages: Pages;
  /** The forms' `POST`s. */
  readonly forms: Forms;
  /** The report job, started by either page. */
  readonly jobs: Jobs;
  /** What each SSE endpoint serves and to whom. */
  readonly streams: Streams;
  readonly #framework: Framework;
  readonly #htmx: HtmxVersion;

  constructor(options: DemoOptions) {
    const { registry, app, store, views, framework, htmx, metrics } = options;
    const renderer = new PageRenderer({ views, framework, htmx });
    this.pages = new Pages({ registry, store, renderer, htmx, metrics });
    this.forms = new Forms({ store, views, renderer });
    this.jobs = new Jobs({ registry, app, store, views, renderer });
    this.streams = new Streams();
    this.#framework = framework;
    this.#htmx = htmx;
  }

  /** The framework serving the routes. */
  get framework(): Framework {
    return this.#framework;
  }

  /** The htmx version of the pages, and the version of htmx they load. */
  get htmx(): { major: HtmxVersion; version: string } {
    return { major: this.#htmx, version: HTMX[this.#htmx].version };
  }

  /** The 404 page, for what no route answers. */
  notFound(req: IncomingMessage): Reply {
    return this.pages.notFound(req);
  }

  /** An error as a reply: an {@link HttpError}'s status and message, else 500. */
  errorReply(err: unknown): Reply {
    const status = err instanceof HttpError ? err.status : 500;
    if (status === 500) console.error("demo: request failed:", err);
    const message = err instanceof HttpError ? err.message : "internal error";
    return { status, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: message };
  }
}
