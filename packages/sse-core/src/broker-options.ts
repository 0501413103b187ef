import type { Backplane } from "./backplane.js";
import type { BrokerOptions } from "./broker.js";
import { type SSEEvent, validateEvent } from "./encode.js";
import { SSEFieldError, SSEOptionError } from "./errors.js";
import { bufferSizeOption, checkKeys, numberOption, slowClientOption } from "./option-checks.js";
import type { PresenceOptions } from "./presence.js";
import type { SlowClientPolicy } from "./slow-client-policy.js";

/** Per-client buffer capacity, in events, when none is given. */
export const DEFAULT_BUFFER_SIZE = 16;

/** Every key of {@link BrokerOptions}. @internal */
export const BROKER_OPTION_KEYS: readonly string[] = [
  "bufferSize",
  "historySize",
  "resumeMissEvent",
  "slowClient",
  "backplane",
  "presence",
];

const BACKPLANE_METHODS = ["attach", "publish", "watch", "unwatch", "replay", "stats", "close"];

/** Where a handler option given to a broker belongs. */
const HANDLER_OPTION_HINT = (key: string): string =>
  `${key} is a handler option: handler(broker, topics, { ${key} })`;

/** A broker's options, checked and resolved. @internal */
export interface ResolvedBrokerOptions {
  readonly bufferSize: number;
  readonly historySize: number;
  readonly slowClient: SlowClientPolicy;
  readonly resumeMissEvent: SSEEvent | undefined;
  readonly backplane: Backplane | undefined;
  /** Checked by the broker's presence roster itself, which names each field. */
  readonly presence: PresenceOptions | undefined;
}

/**
 * Checks and resolves the argument of `new EventBroker(options)`: a number
 * (the `bufferSize`) or an object of {@link BrokerOptions}. Anything that
 * cannot work (an unknown key, a number given as a string, a backplane that
 * is not one) is an {@link SSEOptionError} naming the option. @internal
 */
export function resolveBrokerOptions(options: unknown): ResolvedBrokerOptions {
  if (typeof options === "number") options = { bufferSize: options };
  if (options === undefined) options = {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError(
      "options",
      "must be a number (the bufferSize) or an object of broker options, e.g. { bufferSize: 32 }",
      options,
      typeof options === "string" && Number.isFinite(Number(options))
        ? { hint: `pass the number ${Number(options)}, not a string` }
        : undefined,
    );
  }
  checkKeys(options, BROKER_OPTION_KEYS, "a broker option", {
    keepaliveMs: HANDLER_OPTION_HINT("keepaliveMs"),
    maxClients: HANDLER_OPTION_HINT("maxClients"),
  });
  const opts = options as BrokerOptions;
  return {
    bufferSize: bufferSizeOption("bufferSize", opts.bufferSize, DEFAULT_BUFFER_SIZE),
    historySize: numberOption("historySize", opts.historySize, {
      fallback: 0,
      min: 0,
      infinity: false,
    }),
    slowClient: slowClientOption(opts.slowClient),
    resumeMissEvent: resumeMissEventOf(opts.resumeMissEvent),
    backplane: backplaneOf(opts.backplane),
    presence: opts.presence,
  };
}

function resumeMissEventOf(type: unknown): SSEEvent | undefined {
  if (type === undefined) return undefined;
  const event: SSEEvent = { type: type as string };
  try {
    if (typeof type !== "string" || type === "") throw new TypeError("not a string");
    validateEvent(event);
  } catch (err) {
    throw new SSEOptionError(
      "resumeMissEvent",
      "must be an event type: a non-empty string without CR, LF or NUL",
      type,
      { cause: SSEFieldError.isInstance(err) ? err : undefined },
    );
  }
  return event;
}

function backplaneOf(backplane: unknown): Backplane | undefined {
  if (backplane === undefined) return undefined;
  const methods = backplane as Record<string, unknown> | null;
  if (
    typeof methods !== "object" ||
    methods === null ||
    BACKPLANE_METHODS.some((name) => typeof methods[name] !== "function")
  ) {
    throw new SSEOptionError(
      "backplane",
      "must be a backplane object, e.g. redisBackplane()",
      backplane,
      typeof backplane === "function"
        ? { hint: "did you pass the function without calling it?" }
        : undefined,
    );
  }
  return backplane as Backplane;
}

/**
 * Checks broker options without creating a broker (nothing attaches to the
 * backplane): what `new EventBroker(options)` would refuse, it throws, as an
 * {@link SSEOptionError} naming the option. For code that creates the
 * broker later, e.g. `@burrow/sse-registry`'s `SSEApp`.
 */
export function validateBrokerOptions(options: number | BrokerOptions | undefined): void {
  resolveBrokerOptions(options);
}
