import { fileURLToPath } from "node:url";
import type { FragmentRenderer, RenderContext } from "@burrow/sse-registry";
import nunjucks from "nunjucks";
import { asLocale, type Locale, type MessageKey, plural, translator } from "./i18n.js";

const VIEWS_DIR = fileURLToPath(new URL("../../views", import.meta.url));

/**
 * The templates (nunjucks, auto-escaping on: every `{{ value }}` is HTML
 * escaped, so user text can never become markup). Pages and SSE fragments
 * come from the same files: `fragments/note.njk` renders a note in the page
 * and in the event that appends it to every other page.
 */
export class Views {
  readonly #env: nunjucks.Environment;

  constructor(dir: string = VIEWS_DIR) {
    this.#env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), {
      autoescape: true,
      throwOnUndefined: false,
      trimBlocks: true,
      lstripBlocks: true,
    });
    // Fragments published to everybody carry no locale: a 24-hour clock reads the same in both.
    this.#env.addFilter("clock", (date: Date) =>
      [date.getHours(), date.getMinutes()].map((n) => String(n).padStart(2, "0")).join(":"),
    );
    this.#env.addFilter("iso", (date: Date) => date.toISOString());
  }

  /**
   * Renders template `name` in `context.locale` (English when unset): the
   * template sees `data`, `locale`, `t(key, vars)` (messages),
   * `plural(count, key)` and `time(date)` (localized).
   */
  render(name: string, data: Record<string, unknown>, context: RenderContext = {}): string {
    const locale: Locale = asLocale(context.locale) ?? "en";
    const timeFormat = new Intl.DateTimeFormat(locale, { timeStyle: "medium" });
    const out = this.#env.render(name, {
      ...context,
      ...data,
      locale,
      t: translator(locale),
      plural: (count: number, key: string) =>
        plural(locale, count, {
          one: `${key}.one` as MessageKey,
          other: `${key}.other` as MessageKey,
        }),
      time: (date: Date) => timeFormat.format(date),
    });
    // No leading or trailing blank lines: a fragment's data stays exactly its markup.
    return out.trim();
  }

  /** This engine as the registry's renderer, for background jobs (`renderFragment`). */
  readonly renderer: FragmentRenderer = (name, data, context) => this.render(name, data, context);
}
