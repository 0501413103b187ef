/**
 * Small pieces every backplane engine repeats, whatever carries its
 * events: decoding an event's JSON, delivering a global order once and in
 * order, and deriving the link's state. Exported from
 * `@burrow/sse-core/adapter` for backplane authors; `@burrow/sse-redis` and
 * `@burrow/sse-postgres` both build on them.
 */

import type { SSEEvent } from "../wire/encode.js";
import type { BackplaneEvent, BackplaneState } from "./backplane.js";

/**
 * The event in `json`, or `undefined` when it is not an event's JSON (not a
 * string, not JSON, or JSON that is not an object: `1`, `[]`, `null`). Never
 * throws, whatever another program wrote where events are stored.
 *
 * @example
 * ```ts
 * parseEventJson('{"data":"x"}'); // { data: "x" }
 * parseEventJson("[]"); // undefined
 * ```
 */
export function parseEventJson(json: string | null | undefined): SSEEvent | undefined {
  if (typeof json !== "string") return undefined;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as SSEEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

/** An event of a backplane's global order, before delivery (see {@link GlobalOrder}). */
export interface OrderedEvent extends BackplaneEvent {
  /**
   * The epoch of the engine's counter it was ordered in: it changes when the
   * counter starts over (the engine lost its data).
   */
  epoch: string;
  /** Already delivered on this process (an own publish whose answer was lost): only advances the order. */
  delivered: boolean;
  /**
   * A gap marker, not an event: events of `topic` published on the process
   * that sent it never reached the engine (its `maxPending` overflowed), so
   * this process's clients of `topic` miss them (`event` is empty). See
   * {@link OrderedDelivery}.
   */
  gap?: boolean;
}

/**
 * Where a process stands in a backplane's global order: the epoch and the
 * seq of the last event it received. {@link GlobalOrder.dispatch} delivers
 * each event once, in order, whether it comes live or is read back after a
 * cut.
 *
 * @example
 * ```ts
 * const order = new GlobalOrder();
 * const deliver = (topic, event, seq) => host.deliver(topic, event, seq);
 * order.dispatch({ topic: "t", event: { data: "a" }, seq: 1, epoch: "e", delivered: false }, deliver); // true
 * order.dispatch({ topic: "t", event: { data: "a" }, seq: 1, epoch: "e", delivered: false }, deliver); // false
 * ```
 */
export class GlobalOrder {
  /** The epoch of the events received, once one was. */
  epoch: string | undefined;
  /** The seq of the last event received in {@link epoch}; 0 before any. */
  lastSeq = 0;

  /**
   * Takes `message` in order: an epoch other than {@link epoch} starts the
   * order over; a seq at or below {@link lastSeq} is skipped; otherwise the
   * order advances to it and, unless it was `delivered` already, it goes to
   * `deliver` (whose throw, an event that cannot be encoded, is swallowed:
   * it was not written by a broker). Returns whether it went to `deliver`.
   */
  dispatch(
    message: OrderedEvent,
    deliver: (topic: string, event: SSEEvent, seq: number) => void,
  ): boolean {
    if (message.epoch !== this.epoch) {
      this.epoch = message.epoch;
      this.lastSeq = 0;
    }
    if (message.seq <= this.lastSeq) return false;
    this.lastSeq = message.seq;
    if (message.delivered) return false;
    try {
      deliver(message.topic, message.event, message.seq);
    } catch {
      // Not encodable: not written by a broker; nothing to deliver.
    }
    return true;
  }
}

/**
 * A backplane link's next state: `"ready"` when `up` (every connection up
 * and caught up), else `"connecting"` while it has never been anything else
 * and no error was seen (`failed` false), else `"down"`. `"closed"` stays
 * closed. Compare with `current` to report and log a change once.
 *
 * @example
 * ```ts
 * nextBackplaneState("connecting", false, false); // "connecting"
 * nextBackplaneState("connecting", false, true); // "down"
 * nextBackplaneState("down", true, true); // "ready"
 * ```
 */
export function nextBackplaneState(
  current: BackplaneState,
  up: boolean,
  failed: boolean,
): BackplaneState {
  if (current === "closed") return current;
  if (up) return "ready";
  return current === "connecting" && !failed ? "connecting" : "down";
}
