import type { NodeMiddleware } from "@burrow/sse-core";
import type { Config } from "./config.js";
import type { Registry } from "./registry.js";

/**
 * A unit of a program managed by a {@link Registry}: the SSE app, a plugin, a
 * job runner. Only `name` is required; an app opts into more of the lifecycle
 * by also implementing {@link Configurable}, {@link HasMiddleware} or
 * {@link HasShutdown}.
 *
 * @example
 * ```ts
 * const notes: App & Configurable = {
 *   name: "notes",
 *   dependencies: ["sse"],
 *   flags: () => [{ name: "notes-topic", type: "string", default: "notes", usage: "Topic" }],
 *   configure(config) {
 *     topic = config.string("notes-topic");
 *   },
 * };
 * ```
 */
export interface App {
  /** Unique name in its registry, e.g. `"sse"`. */
  readonly name: string;
  /** Names of apps that must be added before this one. */
  readonly dependencies?: readonly string[];
  /** Called once by {@link Registry.boot}, in order of adding, before any app configures. */
  register?(registry: Registry): void | Promise<void>;
}

/** An app with flags: {@link Registry.boot} resolves them and calls `configure`. */
export interface Configurable {
  /** The flags this app reads; every flag name is unique across the registry. */
  flags(): readonly FlagSpec[];
  /** Called once by {@link Registry.boot}, in order of adding, after every app registered. */
  configure(config: Config): void | Promise<void>;
}

/** An app that contributes middleware to every request (see {@link Registry.middleware}). */
export interface HasMiddleware {
  /** Connect-style `(req, res, next)` functions, in the order they run. */
  middleware(): readonly NodeMiddleware[];
}

/** An app that releases resources when the program stops (see {@link Registry.shutdown}). */
export interface HasShutdown {
  /** Called at most once; must be harmless before the app was configured. */
  shutdown(): void | Promise<void>;
}

/**
 * One configuration value of an app, settable (in order of precedence) by
 * command-line flag, environment variable, TOML key, or its default.
 */
export interface FlagSpec {
  /** The flag without dashes, e.g. `"sse-buffer-size"` for `--sse-buffer-size`. */
  name: string;
  /**
   * Environment variable, e.g. `"SSE_BUFFER_SIZE"`; an empty value counts as unset.
   * @default undefined (not settable from the environment)
   */
  env?: string;
  /**
   * Dotted TOML key, e.g. `"sse.buffer_size"` (table `sse`, key `buffer_size`).
   * @default undefined (not settable from the TOML file)
   */
  toml?: string;
  /** How the value is parsed. */
  type: "string" | "int" | "bool";
  /**
   * Value when no source sets one; must match `type`.
   * @default undefined
   */
  default?: string | number | boolean;
  /** One line for `--help`. */
  usage: string;
}

type Partially<T> = { [K in keyof T]?: unknown };

export function isConfigurable(app: App): app is App & Configurable {
  const a = app as Partially<Configurable>;
  return typeof a.flags === "function" && typeof a.configure === "function";
}

export function hasMiddleware(app: App): app is App & HasMiddleware {
  return typeof (app as Partially<HasMiddleware>).middleware === "function";
}

export function hasShutdown(app: App): app is App & HasShutdown {
  return typeof (app as Partially<HasShutdown>).shutdown === "function";
}
