import type { ConfigSource } from "./types.js";

const REGISTRY_ERROR_BRAND = Symbol.for("burrow.sse.RegistryError");
const CONFIG_ERROR_BRAND = Symbol.for("burrow.sse.ConfigError");

function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

/** Options of {@link RegistryError}. */
export interface RegistryErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** The app the error is about, if one. */
  app?: string;
  /** Every error, when several are reported together (see {@link Registry.shutdown}). */
  errors?: readonly unknown[];
}

/**
 * A misuse of the {@link Registry} or a failure of one of its apps: a duplicate
 * app name, a missing dependency, two apps declaring one flag, rendering
 * without a renderer, or apps failing to shut down (then `errors` holds every
 * failure, like an `AggregateError`). The message starts with `sse: `.
 *
 * Use {@link RegistryError.isInstance} rather than `instanceof` when an ESM and
 * a CJS copy of this package may both be loaded.
 *
 * @example
 * ```ts
 * try {
 *   await registry.shutdown();
 * } catch (err) {
 *   if (RegistryError.isInstance(err)) for (const e of err.errors) console.error(e);
 * }
 * ```
 */
export class RegistryError extends Error {
  /** The app the error is about, if one. */
  readonly app: string | undefined;
  /** Every error reported together; empty unless several apps failed. */
  readonly errors: readonly unknown[];

  constructor(message: string, options: RegistryErrorOptions = {}) {
    super(
      message.startsWith("sse: ") ? message : `sse: ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "RegistryError";
    this.app = options.app;
    this.errors = Object.freeze([...(options.errors ?? [])]);
    Object.defineProperty(this, REGISTRY_ERROR_BRAND, { value: true });
  }

  /** True for a RegistryError from any loaded copy of `@burrow/sse-registry`. */
  static isInstance(value: unknown): value is RegistryError {
    return hasBrand(value, REGISTRY_ERROR_BRAND);
  }
}

/** Options of {@link ConfigError}. */
export interface ConfigErrorOptions {
  /** The flag the error is about (its {@link FlagSpec.name}, without dashes). */
  flag?: string;
  /** Where the offending value came from. */
  source?: ConfigSource;
  /** The offending value, as found. */
  value?: unknown;
  /** The underlying error (e.g. the TOML parser's), if any. */
  cause?: unknown;
}

/**
 * Configuration that cannot be used: a value that does not parse, an unknown
 * flag, a missing or malformed TOML file. Meant to be shown to whoever started
 * the program, so the message leads with what is wrong instead of `sse: `:
 * `--sse-buffer-size: "abc" (from environment SSE_BUFFER_SIZE) is not an integer`.
 *
 * Use {@link ConfigError.isInstance} rather than `instanceof` when an ESM and
 * a CJS copy of this package may both be loaded.
 *
 * @example
 * ```ts
 * try {
 *   await registry.boot({ argv: process.argv.slice(2) });
 * } catch (err) {
 *   if (!ConfigError.isInstance(err)) throw err;
 *   console.error(err.message); // names the flag and where the value came from
 *   process.exitCode = 2;
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The flag at fault (its {@link FlagSpec.name}, without dashes), if one. */
  readonly flag: string | undefined;
  /** Where the offending value came from, if known. */
  readonly source: ConfigSource | undefined;
  /** The offending value, as found. */
  readonly value: unknown;

  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ConfigError";
    this.flag = options.flag;
    this.source = options.source;
    this.value = options.value;
    Object.defineProperty(this, CONFIG_ERROR_BRAND, { value: true });
  }

  /** True for a ConfigError from any loaded copy of `@burrow/sse-registry`. */
  static isInstance(value: unknown): value is ConfigError {
    return hasBrand(value, CONFIG_ERROR_BRAND);
  }
}

/**
 * Throws a {@link RegistryError} for the first key of `options` that is not
 * in `known`, listing the known ones: a misspelled option is never ignored.
 * @internal
 */
export function checkOptionKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new RegistryError(`${where}: ${key} is not an option (known: ${known.join(", ")})`);
    }
  }
}
