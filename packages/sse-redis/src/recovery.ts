/**
 * The global order as this process receives it from Redis, and the
 * catch-up after the subscriber (re)connects: the backplane kit's
 * `OrderedDelivery`, its steps taken on Redis (SUBSCRIBE on the subscriber,
 * reads of the streams). Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { LinkLog, OrderedDelivery, type OrderedEvent } from "@burrow/sse-core/adapter";
import type { StoredEvent } from "./history-reader.js";
import type { Link } from "./link.js";
import type { BackplaneLogger } from "./options.js";
import type { Subscriptions } from "./subscriptions.js";

/**
 * One event from Redis, before delivery: its topic is the one whose channel
 * (or stream) it came from, its epoch that of Redis's counter.
 */
export type Message = OrderedEvent;

/** What the {@link Recovery} needs around it. */
export interface RecoveryHooks {
  /** Hands an event to this process's clients, at `seq` in the global order. */
  deliver(topic: string, event: SSEEvent, seq: number): void;
  /** Whether this process published the event from `origin` and delivered it already. */
  echo(origin: string): boolean;
  /** Events of `topics` published during a cut could not be read back. */
  lost(topics: readonly string[]): void;
}

/** Reads the events of `topics` after `after` in `epoch`; undefined on a gap (or history off). */
export type ReadMissed = (
  topics: readonly string[],
  epoch: string,
  after: number,
) => Promise<StoredEvent[] | undefined>;

/** Delivery in the global order, and catching up after a cut. Internal. */
export class Recovery {
  private readonly delivery: OrderedDelivery;
  private readonly log: LinkLog;

  constructor(
    options: { logger: BackplaneLogger | undefined; safeUrl: string },
    hooks: RecoveryHooks,
  ) {
    this.delivery = new OrderedDelivery(hooks);
    this.log = new LinkLog(options.logger, "sse-redis", "Redis", options.safeUrl);
  }

  /** Events delivered through Redis, ever. */
  get received(): number {
    return this.delivery.received;
  }

  /** Events read back from the streams after a cut (published by others meanwhile), ever. */
  get recovered(): number {
    return this.delivery.recovered;
  }

  /** Catch-ups that could not read what was missed, ever. */
  get gaps(): number {
    return this.delivery.gaps;
  }

  /** Whether a catch-up is running. */
  get running(): boolean {
    return this.delivery.catchingUp;
  }

  /** A live message: held during a catch-up, else delivered in order. */
  receive(message: Message): void {
    this.delivery.receive(message);
  }

  /**
   * On the first sync with history (`head` given), takes Redis's head as
   * the start of the order. Subscribes to every watched topic, then, once the
   * order has a start, reads from the streams what was published since,
   * delivers it, and only then the live messages held meanwhile; then
   * marks the link synced and updates its state. Without a deadline: if
   * Redis hangs, the watchdog closes the connection, which fails the read.
   */
  catchUp(
    link: Link,
    subscriptions: Subscriptions,
    read: ReadMissed,
    head?: () => Promise<{ epoch: string; seq: number }>,
  ): void {
    this.delivery
      .catchUp({
        head,
        subscribe: async () => {
          const topics = subscriptions.topics();
          if (topics.length > 0) await subscriptions.subscribe(topics);
          return link.subscriberUp ? topics : undefined;
        },
        read,
        up: () => link.subscriberUp,
        synced: () => {
          link.synced = true;
        },
        gap: () => this.log.gap("Redis lost its data, or history is off or too short"),
      })
      .catch((error: Error) => link.fail(error))
      .finally(() => link.update());
  }

  /** Delivers nothing more. */
  close(): void {
    this.delivery.close();
  }
}
