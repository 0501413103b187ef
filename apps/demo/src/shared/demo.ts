import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import type { EventBroker, PresenceIdentity, RequestStream } from "@burrow/sse-core";
import { brokerFromRegistry, publishFragment, type Registry } from "@burrow/sse-registry";
import type { Registry as MetricsRegistry } from "prom-client";
import { assetReply } from "./assets.js";
import { HTMX, type HtmxVersion, PRESENCE_PREFIX } from "./htmx.js";
import {
  checkSameOrigin,
  cookie,
  HttpError,
  html,
  parseCookies,
  type Reply,
  readForm,
  redirect,
  safeBackPath,
  withCookie,
} from "./http.js";
import {
  asLocale,
  type Locale,
  localeFromAcceptLanguage,
  type Translate,
  translator,
} from "./i18n.js";
import type { DemoApp, Framework } from "./plugin.js";
import {
  asUser,
  MAX_STATUS,
  MAX_TITLE,
  type Store,
  TONES,
  type Tone,
  USERS,
  type User,
} from "./store.js";
import type { Views } from "./views.js";

/** The topic of project `id`'s badge. */
export const projectTopic = (id: string): string => `project:${id}`;
/** The topic of project `id`'s "viewing now" list, published by the broker's `presence` option. */
export const presenceTopic = (id: string): string => `${PRESENCE_PREFIX}${projectTopic(id)}`;
/** The topic of one user's background job results. */
export const userTopic = (user: User): string => `user:${user}`;

/** The progress a background job reports after each of its steps, in percent. */
const JOB_STEPS = [25, 50, 75, 100] as const;
/** How long each step of a background job "works". */
const JOB_STEP_MS = 100;

/** The error message for user text that is blank or longer than `max`, else `undefined`. */
function checkText(
  text: string,
  max: number,
  t: Translate,
  messages: "notes" | "project",
): string | undefined {
  if (text === "") return t(`${messages}.errorEmpty`);
  if (text.length > max) return t(`${messages}.errorLong`, { max });
  return undefined;
}

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
 * Every route of the demo, framework-free: each action takes Node's
 * request (express's `req` and koa's `ctx.req` are one) and, when it
 * publishes, the broker the registry's middleware put on that request, and
 * answers a {@link Reply}. The express and koa entry points only route and
 * copy replies.
 */
export class Demo {
  readonly #registry: Registry;
  readonly #app: DemoApp;
  readonly #store: Store;
  readonly #views: Views;
  readonly #framework: Framework;
  readonly #htmx: HtmxVersion;
  readonly #metrics: MetricsRegistry;

  constructor(options: DemoOptions) {
    this.#registry = options.registry;
    this.#app = options.app;
    this.#store = options.store;
    this.#views = options.views;
    this.#framework = options.framework;
    this.#htmx = options.htmx;
    this.#metrics = options.metrics;
  }

  /** The framework serving the routes. */
  get framework(): Framework {
    return this.#framework;
  }

  /** The htmx version of the pages, and the version of htmx they load. */
  get htmx(): { major: HtmxVersion; version: string } {
    return { major: this.#htmx, version: HTMX[this.#htmx].version };
  }

  /** `GET /`: notes, team status, background job, live status, projects; one SSE connection. */
  async home(req: IncomingMessage): Promise<Reply> {
    // The cursor before the notes: a note published in between would be shown
    // twice rather than lost (only a backplane's cursor() awaits, leaving a gap).
    const stream = await this.#streamUrl("/events");
    return this.#page(req, "index.njk", {
      stream,
      notes: this.#store.notes(),
      status: this.#store.status,
      stats: brokerFromRegistry(this.#registry)?.stats(),
    });
  }

  /** `POST /notes`: stores a note and pushes its `<li>` to topic `notifications`. */
  async createNote(req: IncomingMessage, broker: EventBroker | undefined): Promise<Reply> {
    checkSameOrigin(req.headers);
    const locale = this.#locale(req);
    const t = translator(locale);
    const title = (await readForm(req)).get("title")?.trim() ?? "";
    const error = checkText(title, MAX_TITLE, t, "notes");
    if (error !== undefined) {
      return this.#fragment(
        "fragments/note-form.njk",
        { value: title, error, focus: true },
        locale,
        422,
      );
    }
    const note = this.#store.addNote(title);
    // Rendered without a locale: the same bytes go to every open page.
    broker?.publish("notifications", {
      data: this.#views.render("fragments/note.njk", { note }),
    });
    return this.#fragment("fragments/note-form.njk", { focus: true }, locale);
  }

  /** `POST /status`: sets the team status and pushes it to topic `status`. */
  async setStatus(req: IncomingMessage, broker: EventBroker | undefined): Promise<Reply> {
    checkSameOrigin(req.headers);
    const locale = this.#locale(req);
    const t = translator(locale);
    const text = (await readForm(req)).get("text")?.trim() ?? "";
    const error = checkText(text, MAX_STATUS, t, "project");
    if (error !== undefined) {
      return this.#fragment("fragments/status-form.njk", { value: text, error }, locale, 422);
    }
    this.#store.status = text;
    broker?.publish("status", {
      data: this.#views.render("fragments/status.njk", { status: text }),
    });
    return this.#fragment("fragments/status-form.njk", {}, locale);
  }

  /** `GET /projects/:id`: the project page, listening on its own topic; 403 for a non-member. */
  async projectPage(req: IncomingMessage, id: string): Promise<Reply> {
    const project = this.#store.project(id);
    if (project === undefined) return this.notFound(req);
    const user = this.#user(req);
    if (!this.#store.isMember(user, id)) {
      return this.#page(req, "forbidden.njk", { project, user }, 403);
    }
    const stream = await this.#streamUrl(`/projects/${encodeURIComponent(id)}/events`);
    // Who is viewing now, as the page is rendered; the stream's presence topic keeps it live.
    const members = (await brokerFromRegistry(this.#registry)?.members(projectTopic(id))) ?? [];
    return this.#page(req, "project.njk", { project, stream, members });
  }

  /** `POST /projects/:id`: updates the project and pushes its badge to `project:<id>` only. */
  async updateProject(
    req: IncomingMessage,
    broker: EventBroker | undefined,
    id: string,
  ): Promise<Reply> {
    checkSameOrigin(req.headers);
    if (this.#store.project(id) === undefined) throw new HttpError(404, "no such project");
    if (!this.#store.isMember(this.#user(req), id)) {
      throw new HttpError(403, "not a member of this project");
    }
    const locale = this.#locale(req);
    const t = translator(locale);
    const form = await readForm(req);
    const status = form.get("status")?.trim() ?? "";
    const tone = TONES.find((one) => one === form.get("tone")) ?? "ok";
    const error = checkText(status, MAX_STATUS, t, "project");
    const project = this.#store.project(id);
    if (error !== undefined || project === undefined) {
      return this.#fragment(
        "fragments/project-form.njk",
        { project, value: status, selectedTone: tone, error },
        locale,
        422,
      );
    }
    const updated = this.#store.updateProject(id, status, tone as Tone) ?? project;
    broker?.publish(projectTopic(id), {
      data: this.#views.render("fragments/project-badge.njk", { project: updated }),
    });
    return this.#fragment("fragments/project-form.njk", { project: updated }, locale);
  }

  /**
   * `POST /jobs` (the htmx 2 page's report button): answers at once; the job
   * runs in the background, outside any request, and publishes its report in
   * the user's language (see {@link Demo.streamJob} for htmx 4's).
   */
  startJob(req: IncomingMessage): Reply {
    checkSameOrigin(req.headers);
    const locale = this.#locale(req);
    const id = this.#store.nextJobId();
    void this.#runJob(this.#user(req), locale, id);
    return this.#fragment("fragments/job-queued.njk", { id }, locale);
  }

  /**
   * `POST /htmx4/jobs` (the htmx 4 page's report button, a `streamHandler`
   * route): the answer is a stream of this request's own, which htmx 4 swaps
   * into `#job-queued` message by message: queued, the job's progress, then
   * "ready" once the job has published its report; then the stream ends. The
   * job is the same background job as htmx 2's: a client that leaves ends
   * only its stream, the report is still published.
   */
  async streamJob(stream: RequestStream, req: IncomingMessage): Promise<void> {
    const locale = this.#locale(req);
    const id = this.#store.nextJobId();
    const send = (name: string, data: Record<string, unknown>) =>
      stream.send({ data: this.#views.render(name, data, { locale }) });
    await send("fragments/job-queued.njk", { id });
    const job = this.#runJob(this.#user(req), locale, id, (percent) => {
      void send("fragments/job-progress.njk", { id, percent });
    });
    const left = once(stream.signal, "abort").then(() => false);
    // Not "ready" for a job stopped by a shutdown: the stream just ends.
    if (await Promise.race([job, left])) await send("fragments/job-ready.njk", { id });
  }

  /** The `authorize` option of `POST /htmx4/jobs`: a cross-origin request answers 403. */
  mayStartJob(req: IncomingMessage): boolean {
    checkSameOrigin(req.headers);
    return true;
  }

  /**
   * The report job, in the background ({@link DemoApp.run}): works in steps,
   * telling `progress` after each, then renders its report in `locale`
   * through the registry's renderer and publishes it to the user's topic with
   * `publishFragment` (which finds the broker with `brokerFromRegistry`).
   * Resolves `true` once the report is published, `false` if it never will be.
   */
  #runJob(
    user: User,
    locale: Locale,
    id: number,
    progress?: (percent: number) => void,
  ): Promise<boolean> {
    return this.#app.run(async (pause) => {
      for (const percent of JOB_STEPS) {
        await pause(JOB_STEP_MS);
        progress?.(percent);
      }
      await publishFragment(
        this.#registry,
        userTopic(user),
        "fragments/job-done.njk",
        {
          id,
          noteCount: this.#store.notes().length,
          projectCount: this.#store.projects().length,
          finishedAt: new Date(),
        },
        { locale },
      );
    });
  }

  /** `POST /locale`: remembers the language in a cookie, back to the page. */
  async setLocale(req: IncomingMessage): Promise<Reply> {
    checkSameOrigin(req.headers);
    const form = await readForm(req);
    const locale = asLocale(form.get("lang")) ?? "en";
    return withCookie(redirect(safeBackPath(form.get("back"))), cookie("lang", locale));
  }

  /** `POST /user`: switches between the demo's users (a cookie), back to the page. */
  async setUser(req: IncomingMessage): Promise<Reply> {
    checkSameOrigin(req.headers);
    const form = await readForm(req);
    const user = asUser(form.get("user")) ?? "alice";
    return withCookie(redirect(safeBackPath(form.get("back"))), cookie("user", user));
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
    return this.#page(req, "not-found.njk", {}, 404);
  }

  /** Topics of `/events`: shared ones, plus this browser's user topic for job results. */
  eventTopics(req: IncomingMessage): string[] {
    return ["notifications", "status", "stats", userTopic(this.#user(req))];
  }

  /**
   * Topics of `/projects/:id/events`: the project's and its presence topic
   * (who is viewing now); an unknown project answers 404.
   */
  projectTopics(id: string): string[] {
    if (this.#store.project(id) === undefined) throw new HttpError(404, "no such project");
    return [projectTopic(id), presenceTopic(id)];
  }

  /** Every project's id (for the `swap` map of the project streams). */
  projectIds(): string[] {
    return this.#store.projects().map((project) => project.id);
  }

  /** The `presence` option of the project stream: the page's user, by name. */
  viewer(req: IncomingMessage): PresenceIdentity {
    const user = this.#user(req);
    return { id: user, data: { name: user } };
  }

  /**
   * The `authorize` option of the project stream: members only, else 403;
   * a project's presence topic is the project's.
   */
  mayWatch(req: IncomingMessage, topics: readonly string[]): boolean {
    const user = this.#user(req);
    return topics.every((topic) => {
      const source = topic.startsWith(PRESENCE_PREFIX)
        ? topic.slice(PRESENCE_PREFIX.length)
        : topic;
      return (
        !source.startsWith("project:") ||
        this.#store.isMember(user, source.slice("project:".length))
      );
    });
  }

  /** An error as a reply: an {@link HttpError}'s status and message, else 500. */
  errorReply(err: unknown): Reply {
    const status = err instanceof HttpError ? err.status : 500;
    if (status === 500) console.error("demo: request failed:", err);
    const message = err instanceof HttpError ? err.message : "internal error";
    return { status, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: message };
  }

  #user(req: IncomingMessage): User {
    return asUser(parseCookies(req.headers).user) ?? "alice";
  }

  #locale(req: IncomingMessage): Locale {
    return (
      asLocale(parseCookies(req.headers).lang) ??
      localeFromAcceptLanguage(req.headers["accept-language"])
    );
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

  #page(req: IncomingMessage, name: string, data: Record<string, unknown>, status = 200): Reply {
    const url = new URL(req.url ?? "/", "http://localhost");
    const locale = this.#locale(req);
    // The only scripts the page runs carry this nonce (see html() and the CSP).
    const nonce = randomBytes(16).toString("base64");
    const body = this.#views.render(
      name,
      {
        ...this.#formDefaults(),
        ...data,
        path: url.pathname,
        framework: this.#framework,
        projects: this.#store.projects(),
        user: this.#user(req),
        users: USERS,
        htmx: this.#htmx,
        htmxVersion: HTMX[this.#htmx].version,
        nonce,
      },
      { locale },
    );
    return html(body, status, nonce);
  }

  #fragment(name: string, data: Record<string, unknown>, locale: Locale, status = 200): Reply {
    return html(this.#views.render(name, { ...this.#formDefaults(), ...data }, { locale }), status);
  }

  #formDefaults(): Record<string, unknown> {
    return {
      maxTitle: MAX_TITLE,
      maxStatus: MAX_STATUS,
      tones: TONES,
      selectedTone: "ok",
      value: "",
    };
  }
}
