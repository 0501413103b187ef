/**
 * The global order as one process receives it from its engine: each event
 * delivered once, in seq order (live, or read back after a cut), and the
 * catch-up after the receiving connection (re)connects, which reads what
 * was published while it was cut and holds live events meanwhile.
 */
import type { SSEEvent } from "../wire/encode.js";
import type { BackplaneEvent } from "./backplane.js";
import { GlobalOrder, type OrderedEvent } from "./backplane-kit.js";

/** An event read back from the engine's history, with who published it. */
export interface MissedEvent extends BackplaneEvent {
  /** `<process>:<publish number>` of its publisher (see `formatOrigin`), if stored. */
  origin: string | undefined;
}

/** What an {@link OrderedDelivery} needs around it. */
export interface OrderedDeliveryHooks {
  /** Hands an event to this process's clients, at `seq` in the global order (`BackplaneHost.deliver`). */
  deliver(topic: string, event: SSEEvent, seq: number): void;
  /** Whether this process published the event from `origin` and delivered it already. */
  echo(origin: string): boolean;
  /**
   * Events of `topics` published while the link was cut could not be read
   * back (`BackplaneHost.lost`): this process's clients of them are behind.
   */
  lost?(topics: readonly string[]): void;
}

/** The steps of one catch-up, each the engine's own (see {@link OrderedDelivery.catchUp}). */
export interface CatchUpSteps {
  /**
   * On the first catch-up with history: the engine's head now (its epoch,
   * and the seq of the last event it ordered), read before subscribing;
   * undefined when it has none yet. Left out, the order starts at the
   * first event received.
   */
  head?: (() => Promise<{ epoch: string; seq: number } | undefined>) | undefined;
  /**
   * Subscribes the receiving connection to every watched topic; resolves
   * with those topics, or undefined when that connection dropped meanwhile.
   */
  subscribe(): Promise<readonly string[] | undefined>;
  /** The events of `topics` after `after` in `epoch`; undefined on a gap (or history off). */
  read(
    topics: readonly string[],
    epoch: string,
    after: number,
  ): Promise<readonly MissedEvent[] | undefined>;
  /** Whether the receiving connection is still the one this catch-up subscribed. */
  up(): boolean;
  /** Caught up: the link is synced (called before the held events are delivered). */
  synced(): void;
  /** What was missed could not be read (counted in `gaps`): log it. */
  gap(): void;
}

/**
 * Delivery in a backplane's global order, and its catch-up after a cut;
 * with the counters `stats().backplane` reports (`received`, `recovered`,
 * `gaps`).
 *
 * @example
 * ```ts
 * const delivery = new OrderedDelivery({
 *   deliver: (topic, event, seq) => host.deliver(topic, event, seq),
 *   echo: (origin) => ownPublishDeliveredHere(origin),
 * });
 * // a live event: held during a catch-up, else delivered in order
 * delivery.receive({ topic, event, seq, epoch, delivered: false });
 * // on (re)connection
 * delivery.catchUp({ subscribe, read, up, synced, gap }).catch(fail).finally(update);
 * ```
 */
export class OrderedDelivery {
  /** Events delivered through the engine, ever. */
  received = 0;
  /** Events read back after a cut (published by other processes meanwhile), ever. */
  recovered = 0;
  /**
   * Catch-ups that could not read what was missed, and gap markers received
   * (another process's events that overflowed its `maxPending`), ever.
   */
  gaps = 0;
  /** Where this process stands in the order of events through the engine. */
  private readonly order = new GlobalOrder();
  /** Live events that arrive while a catch-up reads history. */
  private held: OrderedEvent[] | undefined;
  private closed = false;

  constructor(private readonly hooks: OrderedDeliveryHooks) {}

  /** Whether a catch-up is running. */
  get catchingUp(): boolean {
    return this.held !== undefined;
  }

  /** The epoch of the order, once it has a start (an event received, or the head read). */
  get epoch(): string | undefined {
    return this.order.epoch;
  }

  /** A live event: held during a catch-up, else delivered in order. */
  receive(message: OrderedEvent): void {
    if (this.held !== undefined) this.held.push(message);
    else this.dispatch(message);
  }

  /**
   * Catches up: on the first one with a `head`, takes the engine's head as
   * the order's start, read before subscribing, so that what is published
   * from then on is received or read back, even if the connection is cut
   * before any event came through it. Subscribes to every watched topic,
   * then, once the order has a start, reads what was published since,
   * delivers it (each once: own events already delivered only advance the
   * order), and, if the connection is still up, marks the link synced and
   * delivers the live events held meanwhile; unsynced, they are left to the
   * next catch-up, which reads them after what is missing. Rejects with a
   * step's error (nothing held is delivered then).
   */
  async catchUp(steps: CatchUpSteps): Promise<void> {
    this.held = [];
    let synced = false;
    try {
      if (steps.head !== undefined && this.order.epoch === undefined) {
        const at = await steps.head();
        if (at !== undefined && this.order.epoch === undefined) {
          this.order.epoch = at.epoch;
          this.order.lastSeq = at.seq;
        }
      }
      const topics = await steps.subscribe();
      if (topics === undefined) return;
      const { epoch, lastSeq } = this.order;
      if (epoch !== undefined && topics.length > 0) {
        const missed = await steps.read(topics, epoch, lastSeq);
        if (missed === undefined) {
          this.gaps++;
          steps.gap();
          this.hooks.lost?.(topics);
        } else this.deliverMissed(missed, epoch);
      }
      if (!steps.up()) return;
      synced = true;
      steps.synced();
    } finally {
      const held = this.held ?? [];
      this.held = undefined;
      if (synced) for (const message of held) this.dispatch(message);
    }
  }

  /** Delivers nothing more (the backplane closed). */
  close(): void {
    this.closed = true;
  }

  private deliverMissed(missed: readonly MissedEvent[], epoch: string): void {
    for (const { topic, event, seq, origin } of missed) {
      if (seq <= this.order.lastSeq) continue;
      const delivered = this.hooks.echo(origin ?? "");
      if (!delivered) this.recovered++;
      this.dispatch({ topic, event, seq, epoch, delivered });
    }
  }

  /**
   * Delivers an event in order, once (see {@link GlobalOrder.dispatch}). A
   * gap marker only advances the order; one from another process (not
   * `delivered`) counts a gap and tells `lost` of its topic.
   */
  private dispatch(message: OrderedEvent): void {
    if (this.closed) return;
    const { deliver } = this.hooks;
    if (message.gap) {
      const fresh = message.epoch !== this.order.epoch || message.seq > this.order.lastSeq;
      this.order.dispatch({ ...message, delivered: true }, deliver);
      if (!fresh || message.delivered) return;
      this.gaps++;
      this.hooks.lost?.([message.topic]);
      return;
    }
    if (this.order.dispatch(message, (topic, event, seq) => deliver(topic, event, seq))) {
      this.received++;
    }
  }
}
