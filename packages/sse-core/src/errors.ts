/** The SSEEvent key (or argument) that an {@link SSEFieldError} is about. */
export type SSEField = "id" | "type" | "retry" | "data" | "topic" | "topics";

const FIELD_ERROR_BRAND = Symbol.for("burrow.sse.SSEFieldError");
const SSE_ERROR_BRAND = Symbol.for("burrow.sse.SSEError");

function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

/**
 * Thrown for an event or argument that cannot be sent safely: an `id` or `type`
 * holding CR, LF or NUL, a `retry` that is not a non-negative integer, a `data`
 * that is not a string, or an empty topic name.
 *
 * Use {@link SSEFieldError.isInstance} rather than `instanceof` when an ESM and a
 * CJS copy of this package may both be loaded.
 *
 * @example
 * ```ts
 * try {
 *   broker.publish("news", { id: "1\n2" });
 * } catch (err) {
 *   if (SSEFieldError.isInstance(err)) console.log(err.field); // "id"
 * }
 * ```
 */
export class SSEFieldError extends TypeError {
  /** The offending key: `"id"`, `"type"`, `"retry"`, `"data"`, `"topic"` or `"topics"`. */
  readonly field: SSEField;
  /** The rejected value, for logging. */
  readonly value: unknown;

  constructor(field: SSEField, message: string, value?: unknown, options?: { cause?: unknown }) {
    super(`sse: ${field}: ${message}`, options);
    this.name = "SSEFieldError";
    this.field = field;
    this.value = value;
    Object.defineProperty(this, FIELD_ERROR_BRAND, { value: true });
  }

  /** True for an SSEFieldError from any loaded copy of `@burrow/sse-core`. */
  static isInstance(value: unknown): value is SSEFieldError {
    return hasBrand(value, FIELD_ERROR_BRAND);
  }
}

/**
 * A request that cannot be served as an event stream, carrying the HTTP status
 * it is answered with (for example 500 `sse: no broker in context`).
 */
export class SSEError extends Error {
  /** HTTP status the request is answered with. */
  readonly status: number;
  /** Extra response headers of the answer (e.g. `Retry-After`, `Allow`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    message: string,
    status = 500,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message.startsWith("sse: ") ? message : `sse: ${message}`, options);
    this.name = "SSEError";
    this.status = status;
    this.headers = Object.freeze({ ...options?.headers });
    Object.defineProperty(this, SSE_ERROR_BRAND, { value: true });
  }

  /** True for an SSEError from any loaded copy of `@burrow/sse-core`. */
  static isInstance(value: unknown): value is SSEError {
    return hasBrand(value, SSE_ERROR_BRAND);
  }
}

const OPTION_ERROR_BRAND = Symbol.for("burrow.sse.SSEOptionError");

/** A value as a message shows it: strings quoted, so `"100"` never looks like `100`. */
function shown(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/**
 * Thrown when a handler, stream or broker is created with an option that
 * cannot work, before any request is served. Its message and its `option`
 * property name the option (`"swap.notes.target"`, `"bufferSize"`), and the
 * message shows the rejected value (strings quoted).
 *
 * Use {@link SSEOptionError.isInstance} rather than `instanceof` when an ESM
 * and a CJS copy of this package may both be loaded.
 */
export class SSEOptionError extends TypeError {
  /** The option's name, with its path inside the options object. */
  readonly option: string;
  /** The rejected value. */
  readonly value: unknown;

  constructor(option: string, message: string, value?: unknown, options?: { cause?: unknown }) {
    super(`sse: ${option}: ${message}, got ${shown(value)}`, options);
    this.name = "SSEOptionError";
    this.option = option;
    this.value = value;
    Object.defineProperty(this, OPTION_ERROR_BRAND, { value: true });
  }

  /** True for an SSEOptionError from any loaded copy of `@burrow/sse-core`. */
  static isInstance(value: unknown): value is SSEOptionError {
    return hasBrand(value, OPTION_ERROR_BRAND);
  }
}
