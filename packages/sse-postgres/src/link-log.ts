import type { BackplaneState } from "@burrow/sse-core";
import { LinkLog } from "@burrow/sse-core/adapter";
import { cancelledByServer, configurationFix, refusalMessage } from "./connection-errors.js";
import type { BackplaneLogger } from "./options.js";
import { isTimeout } from "./transaction.js";

/** Why the link went down, as its log line tells it. */
type Cause = "unreachable" | "degraded" | "configuration";

/**
 * What the backplane logs about its link (the backplane kit's `LinkLog`,
 * with PostgreSQL's causes), and the counts behind it. One line when the
 * link goes down, by its cause: PostgreSQL unreachable (no answer, refused,
 * hung); degraded (it answers, but cancels publishes for their time: a lock
 * held on the event counter, an overloaded server); or a configuration it
 * refuses (a missing database, bad credentials), logged once per distinct
 * refusal however often it is retried. One line when the link is ready
 * again, summing up what the outage cost. Also the lines for `maxPending`
 * overflow and for events a reconnection could not recover. Internal.
 */
export class PostgresLinkLog {
  /** The configuration error the link is stuck on now, and its line; `ready()` rejects with it. */
  refusal: { error: Error; message: string } | undefined;
  private readonly log: LinkLog;
  private cause: Cause = "unreachable";
  private downSince = 0;
  /** Since the link went down: events delivered here only, publish batches timed out. */
  private localOnly = 0;
  private timedOut = 0;
  private overflowing = false;

  /**
   * @param where - the database, as messages name it (no password).
   * @param counter - the table whose row orders every publish (`<prefix>meta`).
   */
  constructor(
    logger: BackplaneLogger | undefined,
    private readonly where: string,
    private readonly counter: string,
  ) {
    this.log = new LinkLog(logger, "sse-postgres", "PostgreSQL", where);
  }

  /** An error of a connection or a statement: a configuration refused is logged, once per distinct one. */
  failed(error: Error): void {
    const fix = configurationFix(error);
    if (fix === undefined) {
      this.refusal = undefined;
      return;
    }
    const message = refusalMessage(error, fix, this.where);
    this.refusal = { error, message };
    this.log.once(`refused: ${message}`, message);
  }

  /** A publish batch failed (after the link was told): counted if it timed out. */
  batchFailed(error: Error): void {
    if (isTimeout(error)) this.timedOut++;
  }

  /** An event published here reached this process's clients only. */
  deliveredLocally(): void {
    this.localOnly++;
  }

  /** The link went from `previous` to `next`, `error` the last error: says so. */
  changed(previous: BackplaneState, next: BackplaneState, error: Error | undefined): void {
    if (next === "down") {
      this.down(error);
    } else if (next === "ready") {
      if (previous === "down") this.recovered();
      this.log.ready();
      this.refusal = undefined;
    }
  }

  /** `maxPending` events are waiting: said once, until none is. */
  overflowed(maxPending: number): void {
    if (this.overflowing) return;
    this.overflowing = true;
    this.log.error(
      `${maxPending} events or more are waiting for PostgreSQL at ${this.where}, which does not answer (maxPending); events published meanwhile reach this process's clients only, and the other processes are told of the gap once it answers`,
    );
  }

  /** No event is waiting for PostgreSQL any more. */
  drained(): void {
    this.overflowing = false;
  }

  /** A reconnection could not read back what was published meanwhile. */
  gap(): void {
    this.log.gap("the tables were dropped, or history is off or too short");
  }

  private down(error: Error | undefined): void {
    this.downSince = performance.now();
    this.localOnly = 0;
    this.timedOut = 0;
    this.cause =
      error === undefined
        ? "unreachable"
        : configurationFix(error) !== undefined
          ? "configuration"
          : cancelledByServer(error)
            ? "degraded"
            : "unreachable";
    const cause = error?.message ?? "connection closed";
    // A configuration refused was logged as it came (see failed).
    if (this.cause === "degraded") {
      this.log.down(
        `link to PostgreSQL at ${this.where} degraded: it answers, but cancels publishes for their time (${cause}): a transaction holding a lock on ${this.counter}, the event counter (SELECT … FOR UPDATE, LOCK TABLE), or an overloaded server`,
        "publishes go through again",
      );
    } else if (this.cause === "unreachable") {
      this.log.unreachable(cause);
    }
  }

  private recovered(): void {
    if (this.cause !== "degraded") {
      this.log.reconnected(this.localOnly);
      return;
    }
    const seconds = ((performance.now() - this.downSince) / 1000).toFixed(1);
    this.log.info(
      `link to PostgreSQL at ${this.where} recovered after ${seconds} s degraded; ${this.timedOut} publish batch(es) timed out, ${this.localOnly} event(s) published here meanwhile reached this process's clients only`,
    );
  }
}
