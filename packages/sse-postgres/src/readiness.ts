/**
 * `backplane.ready()`: its options, checked, and what its calls settle with
 * (PostgreSQL's messages); the waits and their timers are the backplane
 * kit's `Readiness`. Internal but for {@link ReadyOptions}.
 */
import { type BackplaneState, SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";
import {
  checkKeys,
  DEFAULT_READY_TIMEOUT_MS,
  MAX_TIMER_MS,
  optionKeys,
  Readiness,
} from "@burrow/sse-core/adapter";

export { DEFAULT_READY_TIMEOUT_MS };

/** Options of `PostgresBackplane.ready()`. */
export interface ReadyOptions {
  /**
   * How long to wait for the link to be ready, in milliseconds; past it,
   * `ready()` rejects with an `SSEBackplaneError` of kind `"timeout"`. 0
   * checks once, now.
   * @default 10000
   */
  timeoutMs?: number;
}

/** What a {@link LinkReadiness} reads off the link when it settles. Internal. */
export interface ReadyLink {
  state: BackplaneState;
  /** The configuration error the link is stuck on now, and the line that tells it. */
  refusal: { error: Error; message: string } | undefined;
  /** The last error, the cause of a timeout. */
  lastError: Error | undefined;
}

/**
 * The pending `ready()` calls of one backplane: each resolves when the link
 * is ready, rejects with an `SSEBackplaneError` when a configuration error
 * holds it (`"configuration"`, the engine's error as `cause`), when its
 * timeout passes first (`"timeout"`) or when it is closed (`"closed"`). Its
 * timer is cleared when it settles, however it settles. Internal.
 */
export class LinkReadiness {
  private readonly waits: Readiness;

  /**
   * @param where - the database, as messages name it.
   * @param link - the link's state and errors, now.
   */
  constructor(where: string, link: () => ReadyLink) {
    this.waits = new Readiness(
      () => {
        const { state, refusal } = link();
        if (state === "ready") return "ready";
        if (state === "closed") {
          const message = `sse: postgresBackplane: closed before PostgreSQL at ${where} was ready`;
          return new SSEBackplaneError("closed", message);
        }
        if (refusal === undefined) return undefined;
        const message = `sse: postgresBackplane: ${refusal.message}`;
        return new SSEBackplaneError("configuration", message, { cause: refusal.error });
      },
      (timeoutMs) => {
        const { state, lastError } = link();
        const why = lastError === undefined ? "" : `: ${lastError.message}`;
        const message = `sse: postgresBackplane: PostgreSQL at ${where} not ready within ${timeoutMs} ms (state "${state}"${why})`;
        return new SSEBackplaneError("timeout", message, { cause: lastError });
      },
    );
  }

  /** See `PostgresBackplane.ready()`. A bad option rejects with `SSEOptionError`. */
  wait(options?: ReadyOptions): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = readyTimeout(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.waits.wait(timeoutMs);
  }

  /** Settles the waiting calls the link's state decides now; call it on every change. */
  check(): void {
    this.waits.check();
  }
}

/** Every key of {@link ReadyOptions} (a key missing here, or not an option, fails to compile). */
const READY_OPTION_KEYS = optionKeys<ReadyOptions>()(["timeoutMs"]);

/** `options.timeoutMs`, checked, or its default; else an `SSEOptionError` naming it. */
function readyTimeout(options: ReadyOptions | undefined): number {
  if (options === undefined) return DEFAULT_READY_TIMEOUT_MS;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError("options", "ready() takes an options object", options);
  }
  checkKeys(options, READY_OPTION_KEYS, "an option of ready()");
  const { timeoutMs = DEFAULT_READY_TIMEOUT_MS } = options;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMER_MS) {
    throw new SSEOptionError(
      "timeoutMs",
      `must be an integer from 0 to ${MAX_TIMER_MS} (milliseconds)`,
      timeoutMs,
    );
  }
  return timeoutMs;
}
