import { Delivery } from "../delivery/live-queue.js";
import type { Subscription } from "../delivery/subscription.js";
import type { Frame } from "../wire/frame.js";
import type { BrokerCounters } from "./broker-stats.js";
import { type BrokerObserver, notify } from "./observer.js";

/**
 * The delivery step of a publish: offers `frame` to each of `subscribers`
 * (the clients of its topic on this process), counts how many queued it and
 * how many lost an event to a full buffer, and tells `observers` of each
 * drop and of the whole. Returns how many queued it. @internal
 */
export function fanOut(
  subscribers: ReadonlySet<Subscription>,
  frame: Frame,
  counters: BrokerCounters,
  observers: readonly BrokerObserver[],
): number {
  const started = observers.length > 0 ? performance.now() : 0;
  let queued = 0;
  let dropped = 0;
  let conflated = 0;
  for (const client of subscribers) {
    const result = client.offer(frame);
    if (result === Delivery.Queued) {
      queued++;
      continue;
    }
    if (result === Delivery.Conflated) {
      queued++;
      conflated++;
      continue;
    }
    // Deferred: a repair of its topic covers it (neither queued nor lost).
    if (result === Delivery.Deferred) continue;
    // QueuedDroppingOldest: queued, and an older event lost.
    if (result === Delivery.QueuedDroppingOldest) queued++;
    dropped++;
    if (observers.length > 0) notify(observers, "dropped", client);
  }
  counters.conflated += conflated;
  counters.delivered += queued;
  counters.dropped += dropped;
  if (observers.length > 0) {
    const seconds = (performance.now() - started) / 1000;
    notify(observers, "published", { topic: frame.topic, queued, dropped, seconds });
  }
  return queued;
}
