import type { IncomingMessage } from "node:http";
import { brokerFromRegistry, type Registry } from "@burrow/sse-registry";
import type { Registry as MetricsRegistry } from "prom-client";
import { assetReply } from "./assets.js";
import { HTMX, type HtmxVersion } from "./htmx.js";
import type { Reply } from "./http.js";
import type { PageRenderer } from "./page-renderer.js";
import { isMember, type Store } from "./store.js";
import { projectTopic } from "./topics.js";
import { userOf } from "./visitor.js";

/** What {@link Pages} answers from. */
export interface PagesOptions {
  registry: Registry;
  store: Store;
  renderer: PageRenderer;
  /** Which pages to render; their stream URLs are this version's. */
  htmx: HtmxVersion;
  /** The prom-client registry `GET /metrics` serves (the broker's metrics joined it). */
  metrics: MetricsRegistry;
}

/** What a `GET` answers: the pages, the assets, `/metrics`, the 404 page. */
export class Pages {
  readonly #registry: Registry;
  readonly #store: Store;
  readonly #renderer: PageRenderer;
  readonly #htmx: HtmxVersion;
  readonly #metrics: MetricsRegistry;

  constructor(options: PagesOptions) {
    this.#registry = options.registry;
    this.#store = options.store;
    this.#renderer = options.renderer;
    this.#htmx = options.htmx;
    this.#metrics = options.metrics;
  }

  /** `GET /`: notes, team status, background job, live status, projects; one SSE connection. */
  async home(req: IncomingMessage): Promise<Reply> {
    // The cursor before the notes: a note published in between would be shown
    // twice rather than lost (only a backplane's cursor() awaits, leaving a gap).
    const stream = await this.#streamUrl("/events");
    const [notes, status, projects] = await Promise.all([
      this.#store.notes(),
      this.#store.status(),
      this.#store.projects(),
    ]);
    return this.#renderer.page(req, "index.njk", {
      stream,
      notes,
      status,
      projects,
      stats: brokerFromRegistry(this.#registry)?.stats(),
    });
  }

  /** `GET /projects/:id`: the project page, listening on its own topic; 403 for a non-member. */
  async projectPage(req: IncomingMessage, id: string): Promise<Reply> {
    const project = await this.#store.project(id);
    if (project === undefined) return this.notFound(req);
    const user = userOf(req);
    if (!isMember(user, id)) {
      return this.#renderer.page(req, "forbidden.njk", { project, user }, 403);
    }
    const stream = await this.#streamUrl(`/projects/${encodeURIComponent(id)}/events`);
    // Who is viewing now, as the page is rendered; the stream's presence topic keeps it live.
    const members = (await brokerFromRegistry(this.#registry)?.members(projectTopic(id))) ?? [];
    return this.#renderer.page(req, "project.njk", { project, stream, members });
  }

  /** `GET /assets/:name`: htmx 4 and 2, their SSE extensions and the stylesheet; 404 otherwise. */
  asset(req: IncomingMessage, name: string): Reply {
    return assetReply(name) ?? this.notFound(req);
  }

  /** `GET /metrics`: the broker's figures in Prometheus's text exposition format. */
  async metrics(): Promise<Reply> {
    return {
      status: 200,
      headers: { "Content-Type": this.#metrics.contentType, "Cache-Control": "no-store" },
      body: await this.#metrics.metrics(),
    };
  }

  /** The 404 page. */
  notFound(req: IncomingMessage): Reply {
    return this.#renderer.page(req, "not-found.njk", {}, 404);
  }

  /**
   * The stream URL of `path` for this version's pages. On htmx 4 it carries
   * the render-time cursor, so the first connection gets what was published
   * after the page was rendered (a reconnect's Last-Event-ID header wins over
   * it). Not on htmx 2: its extension rebuilds its EventSource with the same
   * URL and no header, and would replay everything since the page loaded.
   */
  async #streamUrl(path: string): Promise<string> {
    const url = `${HTMX[this.#htmx].prefix}${path}`;
    if (this.#htmx === 2) return url;
    const cursor = await brokerFromRegistry(this.#registry)?.cursor();
    return cursor === undefined ? url : `${url}?lastEventId=${encodeURIComponent(cursor)}`;
  }
}
