/**
 * The global order as this process receives it from PostgreSQL, and the
 * catch-up after the listening connection (re)connects: the backplane kit's
 * `OrderedDelivery`, its steps taken on PostgreSQL (LISTEN on the listening
 * connection, reads of the events table), and the notifications, reassembled
 * from their chunks. Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { formatEventId, OrderedDelivery, parseEventJson } from "@burrow/sse-core/adapter";
import { readHead, readHistory } from "./history-reader.js";
import type { Link } from "./link.js";
import type { PostgresLinkLog } from "./link-log.js";
import { Reassembler } from "./payload.js";
import type { Subscriptions } from "./subscriptions.js";

/** What the {@link Recovery} needs around it. */
export interface RecoveryHooks {
  /** Hands an event to this process's clients, at `seq` in the global order. */
  deliver(topic: string, event: SSEEvent, seq: number): void;
  /** Whether this process published the event from `origin` and delivered it already. */
  echo(origin: string): boolean;
  /** Whether `origin` (a publish or a gap marker) is this process's. */
  own(origin: string): boolean;
  /** Events of `topics` published during a cut, or past another process's `maxPending`, are lost. */
  lost(topics: readonly string[]): void;
  /** The broker's `historySize` (0: no history, nothing to read back). */
  historySize(): number;
}

/** Delivery in the global order, and catching up after a cut. Internal. */
export class Recovery {
  private readonly delivery: OrderedDelivery;
  private readonly reassembler = new Reassembler();
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: Link,
    private readonly subscriptions: Subscriptions,
    private readonly log: PostgresLinkLog,
    private readonly hooks: RecoveryHooks,
  ) {
    this.delivery = new OrderedDelivery(hooks);
  }

  /** Events delivered through PostgreSQL, ever. */
  get received(): number {
    return this.delivery.received;
  }

  /** Events read back from the table after a cut (published by others meanwhile), ever. */
  get recovered(): number {
    return this.delivery.recovered;
  }

  /** Catch-ups that could not read what was missed, ever. */
  get gaps(): number {
    return this.delivery.gaps;
  }

  /** A notification: reassembled, decoded, then delivered in order (or held during a catch-up). */
  notification(channel: string, payload: string): void {
    const topic = this.subscriptions.topicOf(channel);
    if (topic === undefined) return;
    const notified = this.reassembler.add(payload);
    if (notified === undefined) return;
    if (notified.gap) {
      // Another process's events of `topic` overflowed its maxPending: not in the table.
      const { seq, epoch } = notified;
      const own = this.hooks.own(notified.origin);
      this.delivery.receive({ topic, seq, epoch, event: {}, delivered: own, gap: true });
      return;
    }
    const event = parseEventJson(notified.json);
    if (event === undefined) return;
    const { seq, epoch } = notified;
    const delivered = this.hooks.echo(notified.origin);
    if (notified.assigned && !event.id) event.id = formatEventId(epoch, seq);
    this.delivery.receive({ topic, seq, epoch, event, delivered });
  }

  /** The listening connection is gone: a notification in chunks will not be completed. */
  lost(): void {
    this.reassembler.reset();
  }

  /**
   * Once the listening connection is up: LISTENs to every watched topic,
   * then recovers from the table what was published while it was cut,
   * holding live notifications meanwhile, and only then reports ready.
   * The first sync (with history on) reads the counter before its LISTEN:
   * recovery starts there, so that a connection cut before any event came
   * through PostgreSQL still recovers what was published meanwhile. It
   * waits for the tables (the probe syncs again once they are there).
   */
  sync(): void {
    const { link } = this;
    const listener = link.listener!;
    const historySize = this.hooks.historySize();
    const baseline = this.delivery.epoch === undefined && historySize > 0;
    if (
      this.delivery.catchingUp ||
      link.synced ||
      !listener.connected ||
      link.state === "closed" ||
      (baseline && !link.schemaReady)
    ) {
      link.update();
      return;
    }
    const generation = link.generation;
    this.delivery
      .catchUp({
        // Read before the LISTEN: what commits after it is notified, or read by the catch-up.
        head: baseline ? () => readHead(link.history()) : undefined,
        subscribe: async () => {
          const topics = this.subscriptions.topics();
          if (topics.length > 0) await this.subscriptions.listen(topics);
          return topics;
        },
        read: async (topics, epoch, after) =>
          historySize > 0
            ? readHistory(link.history(), topics, epoch, after, this.hooks.historySize())
            : undefined,
        up: () => generation === link.generation && listener.connected,
        synced: () => {
          link.synced = true;
        },
        gap: () => this.log.gap(),
      })
      .catch((error: Error) => {
        link.noteError(error);
        link.fail(error);
      })
      .finally(() => {
        if (!link.synced && listener.connected && link.state !== "closed") {
          // Still connected but not caught up (a read failed): try again.
          clearTimeout(this.syncTimer);
          this.syncTimer = setTimeout(() => this.sync(), 200);
          this.syncTimer.unref();
        }
        link.update();
      });
  }

  /** Delivers nothing more, and syncs no more. */
  close(): void {
    this.delivery.close();
    clearTimeout(this.syncTimer);
  }
}
