/**
 * The SSEEvent key (or argument) that an {@link SSEFieldError} is about;
 * `"event"` is the event object itself (a key that is not an event field).
 */
export type SSEField = "id" | "type" | "retry" | "data" | "topic" | "topics" | "event";

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
 * that is not a string, a key that is not an event field (`{ event: "x" }`:
 * the `event:` line is `type`), or an empty topic name.
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
  /** The offending key: `"id"`, `"type"`, `"retry"`, `"data"`, `"topic"`, `"topics"` or `"event"`. */
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
 * it is answered with (for example 503 `sse: too many clients`). A topic
 * function or `authorize` may throw one to answer with its status and message.
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
const MISSING_BROKER_BRAND = Symbol.for("burrow.sse.SSEMissingBrokerError");

/**
 * A value as a message shows it: strings quoted and named, so `"100"` never
 * looks like `100`; objects and functions by their kind only.
 */
function shown(value: unknown): string {
  if (typeof value === "string") {
    return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (a string)`;
  }
  if (typeof value === "bigint") return `${value}n (a bigint)`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value instanceof RegExp) return String(value);
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/** Options of {@link SSEOptionError}. */
export interface SSEOptionErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** What to do instead, appended to the message after ` — `. */
  hint?: string;
}

/**
 * Thrown when a handler, stream or broker is created with an argument or
 * option that cannot work, before any request is served: a wrong type, a
 * misspelled key, a number given as a string. Its message and its `option`
 * property name the argument or option (`"broker"`, `"swap.notes.target"`,
 * `"bufferSize"`), and the message shows the rejected value (strings quoted:
 * `got "100" (a string)`) and, where one is close, the intended name:
 * ``sse: keepAlive: is not a handler option, got 5000 — did you mean `keepaliveMs`?``.
 *
 * Use {@link SSEOptionError.isInstance} rather than `instanceof` when an ESM
 * and a CJS copy of this package may both be loaded.
 */
export class SSEOptionError extends TypeError {
  /** The argument's or option's name, with its path inside the options object. */
  readonly option: string;
  /** The rejected value. */
  readonly value: unknown;

  constructor(option: string, message: string, value?: unknown, options?: SSEOptionErrorOptions) {
    const hint = options?.hint === undefined ? "" : ` — ${options.hint}`;
    super(
      `sse: ${option}: ${message}, got ${shown(value)}${hint}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
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

/** The message of {@link SSEMissingBrokerError} without a framework's fix: what is wrong, and the fix. @internal */
export const NO_BROKER_MESSAGE =
  "sse: no broker on this request: put middleware(broker) before this route";

/**
 * A request reached a context handler (or `requireBroker`) without a broker
 * on it: the broker middleware is missing, or mounted after the route. A
 * handler answers it 500 with its message and reports it to `onError` (a
 * wiring bug, not a client's mistake). An {@link SSEError} with status 500.
 *
 * @example
 * ```ts
 * try {
 *   requireBroker(req).publish("notes", { data: "<li>saved</li>" });
 * } catch (err) {
 *   if (SSEMissingBrokerError.isInstance(err)) console.error(err.message);
 * }
 * ```
 */
export class SSEMissingBrokerError extends SSEError {
  /**
   * @param fix - what the app must do, in its framework's words (an adapter
   *   passes e.g. `register ssePlugin from @burrow/sse-fastify before this
   *   route`); by default `put middleware(broker) before this route`.
   */
  constructor(fix?: string) {
    super(fix === undefined ? NO_BROKER_MESSAGE : `sse: no broker on this request: ${fix}`, 500);
    this.name = "SSEMissingBrokerError";
    Object.defineProperty(this, MISSING_BROKER_BRAND, { value: true });
  }

  /** True for an SSEMissingBrokerError from any loaded copy of `@burrow/sse-core`. */
  static override isInstance(value: unknown): value is SSEMissingBrokerError {
    return hasBrand(value, MISSING_BROKER_BRAND);
  }
}

const BACKPLANE_ERROR_BRAND = Symbol.for("burrow.sse.SSEBackplaneError");

/** What an {@link SSEBackplaneError} is about. */
export type SSEBackplaneErrorKind =
  /** The engine refused the configuration: bad credentials, a missing or wrong database. Retrying will not help. */
  | "configuration"
  /** The first connection did not come up in time (the engine is unreachable). */
  | "timeout"
  /** The backplane was closed before its first connection came up. */
  | "closed";

/**
 * A backplane could not reach a working state: the engine refused its
 * configuration (bad credentials, a database that does not exist, a wrong
 * database index), its first connection did not come up in time, or it was
 * closed first. `backplane.ready()` rejects with one, so that an app can fail
 * fast at startup; `kind` says which, and `cause` carries the engine's error.
 *
 * Use {@link SSEBackplaneError.isInstance} rather than `instanceof` when an
 * ESM and a CJS copy of this package may both be loaded.
 *
 * @example
 * ```ts
 * const backplane = redisBackplane({ url: process.env.REDIS_URL });
 * try {
 *   await backplane.ready({ timeoutMs: 5000 });
 * } catch (err) {
 *   if (SSEBackplaneError.isInstance(err)) console.error(err.kind, err.message);
 *   process.exit(1);
 * }
 * ```
 */
export class SSEBackplaneError extends Error {
  /** Why: `"configuration"`, `"timeout"` or `"closed"`. */
  readonly kind: SSEBackplaneErrorKind;

  constructor(kind: SSEBackplaneErrorKind, message: string, options?: { cause?: unknown }) {
    super(message.startsWith("sse: ") ? message : `sse: ${message}`, options);
    this.name = "SSEBackplaneError";
    this.kind = kind;
    Object.defineProperty(this, BACKPLANE_ERROR_BRAND, { value: true });
  }

  /** True for an SSEBackplaneError from any loaded copy of `@burrow/sse-core`. */
  static isInstance(value: unknown): value is SSEBackplaneError {
    return hasBrand(value, BACKPLANE_ERROR_BRAND);
  }
}

const CALLBACK_ERROR_BRAND = Symbol.for("burrow.sse.SSECallbackError");

/**
 * What a handler reports (and hands to its framework) in place of a value
 * thrown by a topic function, `authorize`, `presence` or a producer that is
 * not an object it can safely read: `undefined`, `null`, a string (express
 * reads `next("route")` as "skip to the next route"), a Proxy, an object
 * whose getters throw. Its `thrown` holds the original value when it is a
 * primitive (safe to log), and is undefined otherwise.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (SSECallbackError.isInstance(err)) console.error("a callback threw", err.thrown);
 *   res.status(500).end("Something broke");
 * });
 * ```
 */
export class SSECallbackError extends Error {
  /** The thrown value when it is a primitive; undefined for an object that could not be read. */
  readonly thrown: unknown;

  constructor(message: string, thrown?: unknown) {
    super(message.startsWith("sse: ") ? message : `sse: ${message}`);
    this.name = "SSECallbackError";
    this.thrown = thrown;
    Object.defineProperty(this, CALLBACK_ERROR_BRAND, { value: true });
  }

  /** True for an SSECallbackError from any loaded copy of `@burrow/sse-core`. */
  static isInstance(value: unknown): value is SSECallbackError {
    return hasBrand(value, CALLBACK_ERROR_BRAND);
  }
}
