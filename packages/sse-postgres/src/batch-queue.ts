import type { SSEEvent } from "@burrow/sse-core";
import type { Pool } from "pg";
import { chunks, publishStatement } from "./schema.js";
import { transaction } from "./transaction.js";

/** One event on its way to PostgreSQL. Internal. */
export interface Outgoing {
  topic: string;
  /** The event as published (delivered from it if PostgreSQL cannot order it). */
  event: SSEEvent;
  /** Its JSON, ASCII only. */
  json: string;
  channel: string;
  /** This process's publish number: tells its own echo apart (0 for a gap marker). */
  nonce: number;
  /** A gap marker: `topic`'s events overflowed `maxPending` here (no event, not stored). */
  gap?: boolean;
}

/** What the {@link BatchQueue} reports. Internal. */
export interface PublisherEvents {
  /** PostgreSQL ordered `batch`. */
  sent(batch: readonly Outgoing[]): void;
  /** Whether PostgreSQL ordered `batch` is unknown (an error, no answer in time). */
  failed(batch: readonly Outgoing[], error: Error): void;
}

/**
 * Most events, and most JSON characters, in one statement (at least one
 * event): large enough that a burst drains in few statements (each inserts
 * its batch at once), small enough that one statement stays short.
 */
const MAX_BATCH_EVENTS = 4000;
const MAX_BATCH_CHARS = 2_000_000;

/**
 * Sends events to PostgreSQL in the order they were published, one statement
 * at a time: what is published while a statement is out goes in the next
 * one, as a batch (one transaction orders the whole batch, consecutively).
 * One statement at a time keeps a process's own publishes in order; batches
 * keep up with bursts. Internal.
 */
export class BatchQueue {
  private queue: Outgoing[] = [];
  private inFlight = 0;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    /** The pool's sessions are bounded already: one round trip per statement. */
    private readonly sessionBounded: boolean,
    private readonly settings: () => { historySize: number; origin: string },
    private readonly events: PublisherEvents,
  ) {}

  /** Events queued or in the statement being sent, now. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Queues `outgoing`; it is sent after everything queued before it. */
  push(outgoing: Outgoing): void {
    this.queue.push(outgoing);
    if (this.scheduled || this.inFlight > 0) return;
    this.scheduled = true;
    // Publishes of the same tick go out together.
    queueMicrotask(() => {
      this.scheduled = false;
      this.send();
    });
  }

  /** Removes and returns everything queued and not sent yet. */
  drain(): Outgoing[] {
    const queued = this.queue;
    this.queue = [];
    return queued;
  }

  /** Sends nothing more; what is out is not reported. */
  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  private send(): void {
    if (this.stopped || this.inFlight > 0 || this.queue.length === 0) return;
    let chars = 0;
    let count = 0;
    while (count < this.queue.length && count < MAX_BATCH_EVENTS) {
      chars += this.queue[count]!.json.length;
      if (count > 0 && chars > MAX_BATCH_CHARS) break;
      count++;
    }
    const batch = this.queue.splice(0, count);
    this.inFlight = batch.length;
    const { historySize, origin } = this.settings();
    // A gap marker: one empty chunk, and 0 parts.
    const parts = batch.map((o) => (o.gap ? [""] : chunks(o.json)));
    const values = [
      batch.map((o) => o.topic),
      parts.flat(),
      batch.map((o, i) => (o.gap ? 0 : parts[i]!.length)),
      batch.map((o) => `${origin}:${o.nonce}`),
      batch.map((o) => o.channel),
      historySize,
      historySize > 0,
    ];
    const statement = { text: publishStatement(this.prefix), values };
    transaction(this.pool, this.timeoutMs, [statement], this.sessionBounded).then(
      () => {
        this.inFlight = 0;
        if (this.stopped) return;
        this.events.sent(batch);
        this.send();
      },
      (error: Error) => {
        this.inFlight = 0;
        if (this.stopped) return;
        this.events.failed(batch, error);
        this.send();
      },
    );
  }
}
