import {
  type BrokerOptions,
  brokerMiddleware,
  DEFAULT_BUFFER_SIZE,
  EventBroker,
  type NodeMiddleware,
  SSEOptionError,
  validateBrokerOptions,
} from "@burrow/sse-core";
import type { App, Registry } from "./registry.js";
import type { Config, Configurable, FlagSpec, HasMiddleware, HasShutdown } from "./types.js";

/** Options of {@link SSEApp}: the broker's, except `bufferSize`, which is configured. */
export type SSEAppOptions = Omit<BrokerOptions, "bufferSize">;

/**
 * The SSE app, named `"sse"`: creates the {@link EventBroker} when configured,
 * puts it on every request through its middleware (for `brokerFrom(req)` and
 * the context handlers), and closes it at shutdown, which ends every stream.
 *
 * Its one flag: `--sse-buffer-size`, environment `SSE_BUFFER_SIZE`, TOML
 * `sse.buffer_size`, default 16; a value below 1 falls back to 16, as in the
 * Go original's app (the broker's own rule, in code, turns it into 1).
 *
 * @example
 * ```ts
 * const registry = new Registry().add(new SSEApp({ historySize: 100 }));
 * await registry.boot({ argv: process.argv.slice(2), env: process.env });
 * app.use(registry.middleware());
 * app.get("/events", contextHandler("notifications"));
 * brokerFromRegistry(registry)?.publish("notifications", { data: "<li>hi</li>" });
 * ```
 */
export class SSEApp implements App, Configurable, HasMiddleware, HasShutdown {
  /** Always `"sse"`. */
  readonly name = "sse" as const;
  readonly #options: SSEAppOptions;
  #broker: EventBroker | undefined;

  /**
   * @param options - broker options other than `bufferSize` (e.g.
   *   `historySize`), checked now: an unknown key (`bufferSize` included:
   *   it is the `--sse-buffer-size` flag), a number given as a string or a
   *   `backplane` that is not one throws core's `SSEOptionError`, naming it.
   */
  constructor(options?: SSEAppOptions) {
    if (
      options !== undefined &&
      (typeof options !== "object" || options === null || Array.isArray(options))
    ) {
      throw new SSEOptionError(
        "options",
        "must be an object of broker options, e.g. new SSEApp({ historySize: 100 })",
        options,
      );
    }
    if (options !== undefined && Object.hasOwn(options, "bufferSize")) {
      throw new SSEOptionError(
        "bufferSize",
        "is not an SSEApp option",
        (options as BrokerOptions).bufferSize,
        {
          hint: "it is configured: --sse-buffer-size, SSE_BUFFER_SIZE or sse.buffer_size in the TOML file",
        },
      );
    }
    validateBrokerOptions(options);
    this.#options = { ...options };
  }

  /** The broker; `undefined` until configured. Still set (closed) after shutdown. */
  get broker(): EventBroker | undefined {
    return this.#broker;
  }

  /** `--sse-buffer-size` (`SSE_BUFFER_SIZE`, `sse.buffer_size`), default 16. */
  flags(): readonly FlagSpec[] {
    return [
      {
        name: "sse-buffer-size",
        env: "SSE_BUFFER_SIZE",
        toml: "sse.buffer_size",
        type: "int",
        default: DEFAULT_BUFFER_SIZE,
        usage: "Per-client event buffer capacity (values below 1 mean the default)",
      },
    ];
  }

  /**
   * Creates the broker (closing one from an earlier configure). A configured
   * buffer size below 1 falls back to the default 16, as the Go original's
   * app does; only `new EventBroker(0)` in code means 1.
   */
  configure(config: Config): void {
    const configured = config.int("sse-buffer-size");
    const size = configured === undefined || configured < 1 ? DEFAULT_BUFFER_SIZE : configured;
    this.#broker?.close();
    this.#broker = new EventBroker({ ...this.#options, bufferSize: size });
  }

  /** One middleware that puts the broker on each request, once there is one. */
  middleware(): readonly NodeMiddleware[] {
    return [brokerMiddleware(() => this.#broker)];
  }

  /** Closes the broker, ending every stream; harmless before configure and when repeated. */
  shutdown(): void {
    this.#broker?.close();
  }
}

/**
 * The broker of the registry's `"sse"` app, for code outside any request
 * (background jobs, CLI commands). `undefined` when no SSE app was added or it
 * is not configured yet: check, and skip the work.
 *
 * @example
 * ```ts
 * setInterval(() => {
 *   const broker = brokerFromRegistry(registry);
 *   if (broker === undefined) return; // SSE not available: skip
 *   broker.publish("status", { data: "<span>Background task completed</span>" });
 * }, 60_000);
 * ```
 */
export function brokerFromRegistry(registry: Registry): EventBroker | undefined {
  // Duck-typed, not instanceof: the app may come from another copy of this package.
  const broker = (registry.get("sse") as { broker?: unknown } | undefined)?.broker;
  return isBroker(broker) ? broker : undefined;
}

function isBroker(value: unknown): value is EventBroker {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as EventBroker).publish === "function" &&
    typeof (value as EventBroker).subscribe === "function"
  );
}
