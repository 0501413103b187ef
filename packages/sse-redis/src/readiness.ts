/**
 * `backplane.ready()`: its options, checked, and what its calls settle with
 * (Redis's messages); the waits and their timers are the backplane kit's
 * `Readiness`. Internal but for {@link ReadyOptions}.
 */
import { type BackplaneState, SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";
import { DEFAULT_READY_TIMEOUT_MS, Readiness } from "@burrow/sse-core/adapter";
import { refusalMessage } from "./setup-guard.js";

export { DEFAULT_READY_TIMEOUT_MS };

/** Options of {@link RedisBackplane.ready}. */
export interface ReadyOptions {
  /**
   * How long to wait for the link to become ready, in milliseconds, before
   * rejecting with an `SSEBackplaneError` of kind `"timeout"`;
   * `Infinity` waits as long as it takes (a configuration error or
   * `close()` still end the wait).
   * @default 10000
   */
  timeoutMs?: number;
}

/**
 * `options.timeoutMs`, checked (a number from 0, or `Infinity`), or its
 * default; else an `SSEOptionError` naming it.
 */
function readyTimeout(options: ReadyOptions | undefined): number {
  const timeoutMs = options?.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new SSEOptionError(
      "timeoutMs",
      "must be a number of milliseconds from 0, or Infinity",
      timeoutMs,
    );
  }
  return timeoutMs;
}

/** What a {@link LinkReadiness} reads off the link. Internal. */
export interface ReadyLink {
  readonly state: BackplaneState;
  /** The configuration error Redis refused the link with, while it is not ready since. */
  readonly refusal: Error | undefined;
  /** The last error, the cause of a timeout. */
  readonly lastError: Error | undefined;
}

/** The `ready()` calls of one link, with Redis's messages (the waits are the kit's). Internal. */
export class LinkReadiness {
  private readonly waits: Readiness;

  constructor(safeUrl: string, link: () => ReadyLink) {
    this.waits = new Readiness(
      () => {
        const { state, refusal } = link();
        if (state === "ready") return "ready";
        if (state === "closed") {
          return new SSEBackplaneError(
            "closed",
            `the Redis backplane was closed before Redis at ${safeUrl} was ready`,
          );
        }
        if (refusal === undefined) return undefined;
        return new SSEBackplaneError("configuration", refusalMessage(safeUrl, refusal), {
          cause: refusal,
        });
      },
      (timeoutMs) => {
        const { lastError } = link();
        return new SSEBackplaneError(
          "timeout",
          `Redis at ${safeUrl} was not ready within ${timeoutMs} ms (${lastError?.message ?? "no answer yet"})`,
          { cause: lastError },
        );
      },
    );
  }

  /** See {@link RedisBackplane.ready}; a bad option rejects with `SSEOptionError`. */
  wait(options?: ReadyOptions): Promise<void> {
    let timeoutMs: number;
    try {
      timeoutMs = readyTimeout(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.waits.wait(timeoutMs);
  }

  /** Settles the waits the link's verdict decides now; the link calls it on each change. */
  check(): void {
    this.waits.check();
  }
}
