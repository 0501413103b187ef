import { type BackplaneState, SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";
import { checkKeys, optionKeys } from "@burrow/sse-core/adapter";

/** Default {@link ReadyOptions.timeoutMs}: 10 seconds. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** The longest timer Node keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2_147_483_647;

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

/** What a {@link Readiness} reads off the link when it settles. Internal. */
export interface ReadyLink {
  state: BackplaneState;
  /** The configuration error the link is stuck on now, and the line that tells it. */
  refusal: { error: Error; message: string } | undefined;
  /** The last error, the cause of a timeout. */
  lastError: Error | undefined;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The pending `ready()` calls of one backplane: each resolves when the link
 * is ready, rejects with an `SSEBackplaneError` when a configuration error
 * holds it (`"configuration"`, the engine's error as `cause`), when its
 * timeout passes first (`"timeout"`) or when it is closed (`"closed"`). Its
 * timer is cleared when it settles, however it settles. Internal.
 */
export class Readiness {
  private readonly waiting = new Set<Waiter>();

  /**
   * @param where - the database, as messages name it.
   * @param link - the link's state and errors, now.
   */
  constructor(
    private readonly where: string,
    private readonly link: () => ReadyLink,
  ) {}

  /** See `PostgresBackplane.ready()`. A bad option rejects with `SSEOptionError`. */
  wait(options?: ReadyOptions): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = readyTimeout(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      this.waiting.add(waiter);
      this.settle();
      if (!this.waiting.has(waiter)) return;
      // Not unref'd: a startup script awaiting it stays alive until it settles.
      waiter.timer = setTimeout(() => {
        this.waiting.delete(waiter);
        const { state, lastError } = this.link();
        const why = lastError === undefined ? "" : `: ${lastError.message}`;
        const message = `sse: postgresBackplane: PostgreSQL at ${this.where} not ready within ${timeoutMs} ms (state "${state}"${why})`;
        reject(new SSEBackplaneError("timeout", message, { cause: lastError }));
      }, timeoutMs);
    });
  }

  /** Settles the waiting calls the link's state decides now; call it on every change. */
  settle(): void {
    if (this.waiting.size === 0) return;
    const { state, refusal } = this.link();
    let error: SSEBackplaneError | undefined;
    if (state === "ready") error = undefined;
    else if (state === "closed") {
      const message = `sse: postgresBackplane: closed before PostgreSQL at ${this.where} was ready`;
      error = new SSEBackplaneError("closed", message);
    } else if (refusal !== undefined) {
      const message = `sse: postgresBackplane: ${refusal.message}`;
      error = new SSEBackplaneError("configuration", message, { cause: refusal.error });
    } else return;
    for (const waiter of this.waiting) {
      clearTimeout(waiter.timer);
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    this.waiting.clear();
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
