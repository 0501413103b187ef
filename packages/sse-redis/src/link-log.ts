/**
 * What the link logs: why it is down, once per cause until it is ready again
 * (an outage once, each configuration error Redis answers once, however
 * often it is retried), and the reconnection. Internal.
 */
import type { BackplaneLogger } from "./options.js";
import { refusalCause, refusalMessage } from "./setup-guard.js";

/** The link's log lines. Internal. */
export class LinkLog {
  /** The causes logged since the link was last ready. */
  private readonly logged = new Set<string>();

  constructor(
    private readonly logger: BackplaneLogger | undefined,
    private readonly safeUrl: string,
  ) {}

  /**
   * The link is down: Redis refused the configuration with `refusal`, or
   * (without one) it is unreachable, `lastError` saying why. Logged unless
   * that cause was logged since the link was last ready.
   */
  down(refusal: Error | undefined, lastError: Error | undefined): void {
    const cause = refusal === undefined ? "outage" : `refused: ${refusalCause(refusal)}`;
    if (this.logged.has(cause)) return;
    this.logged.add(cause);
    if (refusal !== undefined) {
      this.logger?.error(
        `sse-redis: ${refusalMessage(this.safeUrl, refusal)}; retrying, and meanwhile events published on this process reach its own clients only`,
      );
      return;
    }
    this.logger?.error(
      `sse-redis: Redis at ${this.safeUrl} is unreachable (${lastError?.message ?? "connection closed"}); events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until it is back`,
    );
  }

  /**
   * The link is ready: every cause may be logged again; after `"down"`, says
   * so, with the `localOnly` events delivered here only meanwhile.
   */
  ready(wasDown: boolean, localOnly: number): void {
    this.logged.clear();
    if (!wasDown) return;
    this.logger?.info(
      `sse-redis: reconnected to Redis at ${this.safeUrl}; ${localOnly} event(s) published here meanwhile reached this process's clients only`,
    );
  }
}
