import type { IncomingMessage } from "node:http";
import type { EventBroker } from "@burrow/sse-core";
import {
  checkSameOrigin,
  cookie,
  HttpError,
  type Reply,
  readForm,
  redirect,
  safeBackPath,
  withCookie,
} from "./http.js";
import { asLocale, type Translate, translator } from "./i18n.js";
import type { PageRenderer } from "./page-renderer.js";
import {
  asUser,
  isMember,
  MAX_STATUS,
  MAX_TITLE,
  projectInfo,
  type Store,
  TONES,
  type Tone,
} from "./store.js";
import { projectTopic } from "./topics.js";
import type { Views } from "./views.js";
import { localeOf, userOf } from "./visitor.js";

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

/** What {@link Forms} changes and renders with. */
export interface FormsOptions {
  store: Store;
  views: Views;
  renderer: PageRenderer;
}

/**
 * The forms' `POST`s: each checks its origin, changes the store and, when
 * others should see it, publishes the new fragment through the broker the
 * registry's middleware put on the request.
 */
export class Forms {
  readonly #store: Store;
  readonly #views: Views;
  readonly #renderer: PageRenderer;

  constructor(options: FormsOptions) {
    this.#store = options.store;
    this.#views = options.views;
    this.#renderer = options.renderer;
  }

  /**
   * `POST /notes`: stores a note and pushes to topic `notifications` its
   * `<li>` and the deletion of the notes the store let go of for it.
   */
  async createNote(req: IncomingMessage, broker: EventBroker | undefined): Promise<Reply> {
    checkSameOrigin(req.headers);
    const locale = localeOf(req);
    const t = translator(locale);
    const title = (await readForm(req)).get("title")?.trim() ?? "";
    const error = checkText(title, MAX_TITLE, t, "notes");
    if (error !== undefined) {
      return this.#renderer.fragment(
        "fragments/note-form.njk",
        { value: title, error, focus: true },
        locale,
        422,
      );
    }
    const { note, dropped } = await this.#store.addNote(title);
    // Rendered without a locale: the same bytes go to every open page.
    broker?.publish("notifications", {
      data: this.#views.render("fragments/note-added.njk", { note, dropped }),
    });
    return this.#renderer.fragment("fragments/note-form.njk", { focus: true }, locale);
  }

  /** `POST /status`: sets the team status and pushes it to topic `status`. */
  async setStatus(req: IncomingMessage, broker: EventBroker | undefined): Promise<Reply> {
    checkSameOrigin(req.headers);
    const locale = localeOf(req);
    const t = translator(locale);
    const text = (await readForm(req)).get("text")?.trim() ?? "";
    const error = checkText(text, MAX_STATUS, t, "project");
    if (error !== undefined) {
      return this.#renderer.fragment(
        "fragments/status-form.njk",
        { value: text, error },
        locale,
        422,
      );
    }
    await this.#store.setStatus(text);
    broker?.publish("status", {
      data: this.#views.render("fragments/status.njk", { status: text }),
    });
    return this.#renderer.fragment("fragments/status-form.njk", {}, locale);
  }

  /** `POST /projects/:id`: updates the project and pushes its badge to `project:<id>` only. */
  async updateProject(
    req: IncomingMessage,
    broker: EventBroker | undefined,
    id: string,
  ): Promise<Reply> {
    checkSameOrigin(req.headers);
    if (projectInfo(id) === undefined) throw new HttpError(404, "no such project");
    if (!isMember(userOf(req), id)) {
      throw new HttpError(403, "not a member of this project");
    }
    const locale = localeOf(req);
    const t = translator(locale);
    const form = await readForm(req);
    const status = form.get("status")?.trim() ?? "";
    const tone = TONES.find((one) => one === form.get("tone")) ?? "ok";
    const error = checkText(status, MAX_STATUS, t, "project");
    if (error !== undefined) {
      const project = await this.#store.project(id);
      return this.#renderer.fragment(
        "fragments/project-form.njk",
        { project, value: status, selectedTone: tone, error },
        locale,
        422,
      );
    }
    const updated = await this.#store.updateProject(id, status, tone as Tone);
    if (updated === undefined) throw new HttpError(404, "no such project");
    broker?.publish(projectTopic(id), {
      data: this.#views.render("fragments/project-badge.njk", { project: updated }),
    });
    return this.#renderer.fragment("fragments/project-form.njk", { project: updated }, locale);
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
}
