import type { NodeMiddleware } from "@burrow/sse-core";

// The types shared by this package's files. A leaf: it imports nothing of the
// package, so that sharing a type never ties two files into a circle.

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

/** A flag and the app that declared it. */
export interface DeclaredFlag {
  readonly spec: FlagSpec;
  readonly app: string;
}

/** Where a flag's value came from. */
export type ConfigSource = "flag" | "env" | "toml" | "default";

/**
 * The resolved value of every app's flags, handed to each
 * {@link Configurable.configure}. Precedence: command-line flag, then
 * environment, then TOML file, then the flag's default.
 *
 * Flag names are given without dashes (`"sse-buffer-size"`; a leading `--` is
 * ignored). Asking for a flag no app declared, or with the accessor of another
 * type (`int` for a `bool` flag), throws a {@link RegistryError}: both are bugs
 * in the asking app.
 *
 * @example
 * ```ts
 * configure(config) {
 *   const size = config.int("sse-buffer-size"); // 16 unless set
 *   console.log(`buffer size ${size} (from ${config.source("sse-buffer-size")})`);
 * }
 * ```
 */
export interface Config {
  /** A `string` flag's value; undefined when no source set it and it has no default. */
  string(flag: string): string | undefined;
  /** An `int` flag's value; undefined when no source set it and it has no default. */
  int(flag: string): number | undefined;
  /** A `bool` flag's value; undefined when no source set it and it has no default. */
  bool(flag: string): boolean | undefined;
  /** Where the value came from (`"default"` also when there is no value at all). */
  source(flag: string): ConfigSource;
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
 * What a fragment needs besides its data when there is no request, e.g. the
 * locale of a background job's audience. Put only what templates use here:
 * nothing HTTP-only (CSRF tokens, flash messages, the session).
 */
export interface RenderContext {
  /** The locale to render in, e.g. `"de"`. */
  locale?: string;
  [key: string]: unknown;
}

/**
 * Renders the template fragment `name` with `data` in `context`, returning
 * HTML: the bridge to any template engine (set with
 * {@link Registry.setRenderer}). It must escape what it interpolates.
 */
export type FragmentRenderer = (
  name: string,
  data: Record<string, unknown>,
  context: RenderContext,
) => string | Promise<string>;
