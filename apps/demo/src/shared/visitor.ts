import type { IncomingMessage } from "node:http";
import { parseCookies } from "./http.js";
import { asLocale, type Locale, localeFromAcceptLanguage } from "./i18n.js";
import { asUser, type User } from "./store.js";

/** Which of the demo's users sends `req`: its `user` cookie, else alice. */
export function userOf(req: IncomingMessage): User {
  return asUser(parseCookies(req.headers).user) ?? "alice";
}

/** The language `req` is answered in: its `lang` cookie, else its `Accept-Language`. */
export function localeOf(req: IncomingMessage): Locale {
  return (
    asLocale(parseCookies(req.headers).lang) ??
    localeFromAcceptLanguage(req.headers["accept-language"])
  );
}
