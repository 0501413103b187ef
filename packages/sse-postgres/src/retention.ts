/**
 * Retention: every `min(retentionMs / 4, 10 minutes)`, while the link is
 * ready, deletes the events older than `retentionMs` (see
 * {@link pruneStatements}), and counts them. Internal.
 */
import type { Link } from "./link.js";
import { pruneStatements } from "./schema.js";
import { transaction } from "./transaction.js";

/** The pruning of old events. Internal. */
export class Retention {
  /** Events this process deleted for being older than `retentionMs`, ever. */
  pruned = 0;
  private timer: NodeJS.Timeout | undefined;
  private pruning = false;

  constructor(
    private readonly link: Link,
    private readonly options: { prefix: string; timeoutMs: number; retentionMs: number },
  ) {}

  /** Prunes on a timer from now (with history on), until {@link stop}. */
  start(): void {
    const every = Math.min(this.options.retentionMs / 4, 600_000);
    this.timer = setInterval(() => this.prune(), Math.max(every, 10));
    this.timer.unref();
  }

  /** Prunes no more. */
  stop(): void {
    clearInterval(this.timer);
  }

  private prune(): void {
    const { link } = this;
    if (this.pruning || link.state !== "ready") return;
    this.pruning = true;
    const { prefix, timeoutMs, retentionMs } = this.options;
    transaction(link.pool!, timeoutMs, pruneStatements(prefix, retentionMs))
      .then(
        ([, result]) => {
          this.pruned += Number(result?.rows[0]?.deleted ?? 0);
        },
        (error: Error) => {
          // Not a reason to go down: publishes tell whether PostgreSQL answers.
          link.noteError(error);
          link.lastError = error;
        },
      )
      .finally(() => {
        this.pruning = false;
      });
  }
}
