import type { Configurable, HasMiddleware, HasShutdown } from "./types.js";

type Partially<T> = { [K in keyof T]?: unknown };

/** True when `app` has both `flags` and `configure`: the registry resolves its flags. */
export function isConfigurable<A extends object>(app: A): app is A & Configurable {
  const a = app as Partially<Configurable>;
  return typeof a.flags === "function" && typeof a.configure === "function";
}

/** True when `app` contributes middleware. */
export function hasMiddleware<A extends object>(app: A): app is A & HasMiddleware {
  return typeof (app as Partially<HasMiddleware>).middleware === "function";
}

/** True when `app` has a `shutdown` to call. */
export function hasShutdown<A extends object>(app: A): app is A & HasShutdown {
  return typeof (app as Partially<HasShutdown>).shutdown === "function";
}
