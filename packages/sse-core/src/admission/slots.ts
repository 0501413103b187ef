import { SSEError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";
import type { SubscribeOptions } from "../broker/broker-options.js";
import type { Subscription } from "../delivery/subscription.js";
import type { SwapFormat } from "../wire/swap.js";
import type { Limits } from "./limits.js";

/** What a broker's handlers have admitted: slots not yet subscribed, and streams per address. */
interface Slots {
  /** Admitted streams not subscribed yet; the broker does not count them yet. */
  pending: number;
  /** Open streams per client address (only while `maxClientsPerAddress` is on). */
  perAddress: Map<string, number>;
}

// Per broker, shared through globalThis so that an ESM and a CJS copy of this
// package, loaded in one process, count the same slots.
const KEY = Symbol.for("burrow.sse.admissionSlots");
const registry = globalThis as unknown as Record<symbol, WeakMap<EventBroker, Slots> | undefined>;
const slotsByBroker: WeakMap<EventBroker, Slots> = registry[KEY] ?? new WeakMap();
registry[KEY] = slotsByBroker;

function slotsOf(broker: EventBroker): Slots {
  let slots = slotsByBroker.get(broker);
  if (slots === undefined) {
    slots = { pending: 0, perAddress: new Map() };
    slotsByBroker.set(broker, slots);
  }
  return slots;
}

/**
 * A place for one stream, reserved by {@link admit}: {@link Slot.subscribe}
 * turns it into a client, which holds it until it leaves;
 * {@link Slot.cancel} gives it back. @internal
 */
export interface Slot {
  /** Subscribes the stream (call it once); the slot is the client's until it leaves. */
  subscribe(
    topics: readonly string[],
    options: SubscribeOptions,
    format: SwapFormat | undefined,
  ): Subscription;
  /** Gives the slot back unless it was subscribed. Idempotent. */
  cancel(): void;
}

/**
 * Reserves a slot for one more stream on `broker` from `address`, or throws
 * 503 (broker full, with `Retry-After`) or 429 (address over its cap). The
 * check and the reservation are one synchronous step, and a reserved slot
 * counts until it is cancelled or its client leaves, so the limits hold
 * however many admissions settle in the same tick. @internal
 */
export function admit(
  broker: EventBroker,
  address: string | undefined,
  limits: Required<Limits>,
): Slot {
  const slots = slotsOf(broker);
  if (broker.stats().clients + slots.pending >= limits.maxClients) {
    throw new SSEError("sse: too many clients", 503, { headers: { "Retry-After": "5" } });
  }
  const capped = limits.maxClientsPerAddress !== Number.POSITIVE_INFINITY && address !== undefined;
  if (capped) {
    const open = slots.perAddress.get(address) ?? 0;
    if (open >= limits.maxClientsPerAddress) {
      throw new SSEError(
        `sse: too many streams from this address (at most ${limits.maxClientsPerAddress})`,
        429,
      );
    }
    slots.perAddress.set(address, open + 1);
  }
  slots.pending++;
  let state: "reserved" | "subscribed" | "cancelled" = "reserved";
  const releaseAddress = (): void => {
    if (!capped) return;
    const now = (slots.perAddress.get(address) ?? 1) - 1;
    if (now === 0) slots.perAddress.delete(address);
    else slots.perAddress.set(address, now);
  };
  return {
    subscribe(topics, options, format) {
      const client = broker.open(topics, options, format);
      state = "subscribed";
      slots.pending--;
      if (capped) void client.done.then(releaseAddress);
      return client;
    },
    cancel() {
      if (state !== "reserved") return;
      state = "cancelled";
      slots.pending--;
      releaseAddress();
    },
  };
}
