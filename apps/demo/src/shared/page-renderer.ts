import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HTMX, type HtmxVersion } from "./htmx.js";
import { html, type Reply } from "./http.js";
import type { Locale } from "./i18n.js";
import type { Framework } from "./plugin.js";
import { MAX_STATUS, MAX_TITLE, PROJECTS, TONES, USERS } from "./store.js";
import type { Views } from "./views.js";
import { localeOf, userOf } from "./visitor.js";

/** What {@link PageRenderer} renders with. */
export interface PageRendererOptions {
  views: Views;
  framework: Framework;
  /** Which pages to render. */
  htmx: HtmxVersion;
}

/**
 * Renders a template as an HTML {@link Reply}: a whole page (with what the
 * layout shows on every page, and a CSP nonce of its own) or a fragment that
 * htmx swaps in.
 */
export class PageRenderer {
  readonly #views: Views;
  readonly #framework: Framework;
  readonly #htmx: HtmxVersion;

  constructor(options: PageRendererOptions) {
    this.#views = options.views;
    this.#framework = options.framework;
    this.#htmx = options.htmx;
  }

  /** The page `name` for `req`, in its language, as its user sees it. */
  page(req: IncomingMessage, name: string, data: Record<string, unknown>, status = 200): Reply {
    const url = new URL(req.url ?? "/", "http://localhost");
    const locale = localeOf(req);
    // The only scripts the page runs carry this nonce (see html() and the CSP).
    const nonce = randomBytes(16).toString("base64");
    const body = this.#views.render(
      name,
      {
        ...this.#formDefaults(),
        // The top bar's links; the home page passes the projects with their badges.
        projects: PROJECTS,
        ...data,
        path: url.pathname,
        framework: this.#framework,
        user: userOf(req),
        users: USERS,
        htmx: this.#htmx,
        htmxVersion: HTMX[this.#htmx].version,
        nonce,
      },
      { locale },
    );
    return html(body, status, nonce);
  }

  /** The fragment `name` in `locale`. */
  fragment(name: string, data: Record<string, unknown>, locale: Locale, status = 200): Reply {
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
