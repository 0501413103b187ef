/**
 * The option checks every backplane engine repeats: its logger, and its
 * positive integer options (timeouts, `maxPending`, `maxReplays`...). Each
 * throws core's `SSEOptionError` naming the option.
 */
import { SSEOptionError } from "../base/errors.js";

/** Where a backplane reports its link's state changes: `console` fits, so do most loggers. */
export interface BackplaneLogger {
  /** The link went down, or could not come up, or missed events could not be recovered. */
  error(message: string): void;
  /** The link is back. */
  info(message: string): void;
}

/**
 * A backplane's `logger` option, checked: a {@link BackplaneLogger}
 * (`console` fits), or `false` for none (returned as `undefined`); else an
 * `SSEOptionError` naming `logger`.
 *
 * @example
 * ```ts
 * const { logger = console } = options;
 * const log = loggerOption(logger); // BackplaneLogger | undefined
 * ```
 */
export function loggerOption(logger: unknown): BackplaneLogger | undefined {
  if (logger === false) return undefined;
  if (
    typeof logger !== "object" ||
    logger === null ||
    typeof (logger as Partial<BackplaneLogger>).error !== "function" ||
    typeof (logger as Partial<BackplaneLogger>).info !== "function"
  ) {
    throw new SSEOptionError("logger", "must have error() and info() methods, or be false", logger);
  }
  return logger as BackplaneLogger;
}

/**
 * `value` when it is a positive safe integer; else an `SSEOptionError`
 * naming `name`: `sse: timeoutMs: must be a positive integer (milliseconds)`.
 *
 * @param unit - what the number counts, as the message says it.
 * @example
 * ```ts
 * positiveIntegerOption("maxReplays", options.maxReplays ?? 4, "replays"); // 4
 * ```
 */
export function positiveIntegerOption(name: string, value: unknown, unit: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new SSEOptionError(name, `must be a positive integer (${unit})`, value);
  }
  return value;
}
