import type { Client } from "./client.js";
import type { Flushable, FlushScheduler } from "./flush.js";
import type { Writable } from "./live-queue.js";
import type { RepairHost } from "./repairs.js";

/**
 * What drains a subscription into a transport (an HTTP response or a fetch
 * stream): the subscription has its host's flush scheduler flush it (it
 * then takes what the subscription holds). Implemented by `EventStream`.
 * @internal
 */
export interface Consumer extends Writable, Flushable {
  /** The subscription ended: `discard` drops what is queued, else it is written first. */
  end(discard: boolean): void;
}

/**
 * Who owns a subscription: a broker, or a request-stream handler. @internal
 */
export interface SubscriptionHost {
  /** Flushes the streams of the owner's subscriptions once per tick. */
  readonly flusher: FlushScheduler;
  /**
   * Ends `client` and forgets it: `"client"`, it left (its connection closed,
   * its iterator stopped); `"slow"`, it fell behind under the `"disconnect"`
   * policy (ended after the fan-out that found it full, not during it).
   */
  endClient(client: Client, reason: "client" | "slow"): void;
  /**
   * True while someone is told of drains (a broker with observers): only
   * then does a blocked stream read the clock. Absent (a request stream's
   * host): never.
   */
  timesDrains?(): boolean;
  /** A stream of `client` that its transport blocked could write again, `seconds` later. */
  drained?(client: Client, seconds: number): void;
  /** Who renders the snapshots that repair a client's topics (a broker with topic rules). */
  readonly repairer?: RepairHost;
}
