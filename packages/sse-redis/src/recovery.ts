/**
 * The global order as this process receives it: each event from Redis
 * delivered once, in seq order (live from the subscriber, or read back from
 * the streams), and the catch-up after the subscriber (re)connects, which
 * reads what was published while it was cut and holds live messages
 * meanwhile. Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { GlobalOrder, type OrderedEvent } from "@burrow/sse-core/adapter";
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
}

/** Reads the events of `topics` after `after` in `epoch`; undefined on a gap (or history off). */
export type ReadMissed = (
  topics: readonly string[],
  epoch: string,
  after: number,
) => Promise<StoredEvent[] | undefined>;

/** Delivery in the global order, and catching up after a cut. Internal. */
export class Recovery {
  /** Events delivered through Redis, ever. */
  received = 0;
  /** Events read back from the streams after a cut (published by others meanwhile), ever. */
  recovered = 0;
  /** Catch-ups that could not read what was missed, ever. */
  gaps = 0;
  /** Where this process stands in the order of events through Redis. */
  private readonly order = new GlobalOrder();
  /** Live messages that arrive while a catch-up reads the streams. */
  private held: Message[] | undefined;
  private closed = false;

  constructor(
    private readonly options: { logger: BackplaneLogger | undefined; safeUrl: string },
    private readonly hooks: RecoveryHooks,
  ) {}

  /** Whether a catch-up is running. */
  get running(): boolean {
    return this.held !== undefined;
  }

  /** A live message: held during a catch-up, else delivered in order. */
  receive(message: Message): void {
    if (this.held !== undefined) this.held.push(message);
    else this.dispatch(message);
  }

  /**
   * On the first sync with history (`head` given), takes Redis's head as
   * the start of the order. Subscribes to every watched topic, then, once the
   * order has a start, reads from the streams what was published since,
   * delivers it, and only then the live messages held meanwhile; then
   * marks the link synced and updates its state. Without a deadline: if Redis hangs, the watchdog closes the connection, which
   * fails the read.
   */
  catchUp(
    link: Link,
    subscriptions: Subscriptions,
    read: ReadMissed,
    head?: () => Promise<{ epoch: string; seq: number }>,
  ): void {
    this.held = [];
    const run = async (): Promise<void> => {
      if (head !== undefined && this.order.epoch === undefined) {
        // The first sync: the order starts at Redis's head, read before SUBSCRIBE, so
        // that what is published from here on is received or read back by a catch-up,
        // even if the subscription is cut before any event came through it.
        const at = await head();
        if (this.order.epoch === undefined) {
          this.order.epoch = at.epoch;
          this.order.lastSeq = at.seq;
        }
      }
      const topics = subscriptions.topics();
      if (topics.length > 0) await subscriptions.subscribe(topics);
      if (!link.subscriberUp) return;
      const { epoch, lastSeq } = this.order;
      if (epoch !== undefined && topics.length > 0) {
        const missed = await read(topics, epoch, lastSeq);
        if (missed === undefined) this.gap();
        else this.deliverMissed(missed, epoch);
      }
      if (!link.subscriberUp) return;
      link.synced = true;
    };
    run()
      .catch((error: Error) => link.fail(error))
      .finally(() => {
        const held = this.held ?? [];
        this.held = undefined;
        // Unsynced, they are read from the streams by the next catch-up, after what is missing.
        if (link.synced) for (const message of held) this.dispatch(message);
        link.update();
      });
  }

  /** Delivers nothing more. */
  close(): void {
    this.closed = true;
  }

  private deliverMissed(missed: readonly StoredEvent[], epoch: string): void {
    for (const { topic, event, seq, origin } of missed) {
      if (seq <= this.order.lastSeq) continue;
      const delivered = this.hooks.echo(origin ?? "");
      if (!delivered) this.recovered++;
      this.dispatch({ topic, event, seq, epoch, delivered });
    }
  }

  private gap(): void {
    this.gaps++;
    this.options.logger?.error(
      `sse-redis: events published on other processes while this one was cut from Redis at ${this.options.safeUrl} could not be recovered (Redis lost its data, or history is off or too short); clients here may have missed some`,
    );
  }

  /**
   * Delivers a message in order, once: a seq already delivered is skipped;
   * a new epoch (Redis lost its data, a restart without persistence: the
   * counter started over) starts the order over.
   */
  private dispatch(message: Message): void {
    if (this.closed) return;
    if (
      this.order.dispatch(message, (topic, event, seq) => this.hooks.deliver(topic, event, seq))
    ) {
      this.received++;
    }
  }
}
