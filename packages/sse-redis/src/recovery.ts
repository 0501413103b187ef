/**
 * The global order as this process receives it: each event from Redis
 * delivered once, in seq order (live from the subscriber, or read back from
 * the streams), and the catch-up after the subscriber (re)connects, which
 * reads what was published while it was cut and holds live messages
 * meanwhile. Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import type { StoredEvent } from "./history-reader.js";
import type { Link } from "./link.js";
import type { BackplaneLogger } from "./options.js";
import type { Subscriptions } from "./subscriptions.js";

/** One event from Redis, before delivery. */
export interface Message {
  /** The topic whose channel (or stream) it came from. */
  topic: string;
  /** Its place in the global order. */
  seq: number;
  /** The epoch of Redis's counter it was ordered in. */
  epoch: string;
  /** The event, with its id. */
  event: SSEEvent;
  /** Already delivered here (a publish whose answer was lost): only advances the order. */
  delivered: boolean;
}

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
  private epoch: string | undefined;
  /** Seq of the last event delivered through Redis (in {@link epoch}). */
  private lastSeq = 0;
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
   * Subscribes to every watched topic, then, if events were delivered
   * before, reads from the streams what was published since the last one,
   * delivers it, and only then the live messages held meanwhile; then
   * marks the link synced and updates its state. Without a deadline: if Redis hangs, the watchdog closes the connection, which
   * fails the read.
   */
  catchUp(link: Link, subscriptions: Subscriptions, read: ReadMissed): void {
    this.held = [];
    const run = async (): Promise<void> => {
      const topics = subscriptions.topics();
      if (topics.length > 0) await subscriptions.subscribe(topics);
      if (!link.subscriberUp) return;
      if (this.lastSeq > 0 && this.epoch !== undefined && topics.length > 0) {
        const epoch = this.epoch;
        const missed = await read(topics, epoch, this.lastSeq);
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
      if (seq <= this.lastSeq) continue;
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

  /** Delivers a message in order, once: a seq already delivered is skipped. */
  private dispatch(message: Message): void {
    if (this.closed) return;
    if (message.epoch !== this.epoch) {
      // Redis lost its data (restart without persistence): the counter started over.
      this.epoch = message.epoch;
      this.lastSeq = 0;
    }
    if (message.seq <= this.lastSeq) return;
    this.lastSeq = message.seq;
    if (message.delivered) return;
    this.received++;
    try {
      this.hooks.deliver(message.topic, message.event, message.seq);
    } catch {
      // Not encodable: not written by a broker; nothing to deliver.
    }
  }
}
