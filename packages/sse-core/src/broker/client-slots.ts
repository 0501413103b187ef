import { AddressCounts } from "../base/address-counts.js";
import { SSEError } from "../base/errors.js";
import type { Subscription } from "../delivery/subscription.js";
import type { Subscribers } from "./subscribers.js";

/** The caps a stream is admitted under: a handler's `maxClients` and `maxClientsPerAddress`. @internal */
export interface SlotCaps {
  readonly maxClients: number;
  readonly maxClientsPerAddress: number;
}

/**
 * A place for one stream, reserved by {@link ClientSlots.reserve}:
 * {@link ClientSlot.fill} gives it to the client subscribed in it, which
 * holds it until it ends; {@link ClientSlot.cancel} gives it back. @internal
 */
export interface ClientSlot {
  /** `client` was subscribed in this slot (call it once): it holds the slot until it ends. */
  fill(client: Subscription): void;
  /** Gives the slot back unless it was filled. Idempotent. */
  cancel(): void;
}

/**
 * The room one broker has for more streams, which its handlers reserve
 * before they subscribe one: the reservations not subscribed yet, and the
 * streams open per client address. One per broker, for its lifetime; every
 * handler serving the broker asks it, whichever copy of this package (ESM
 * or CJS) made the handler, so they all count the same slots. @internal
 */
export class ClientSlots {
  /** Reserved and not subscribed yet: the broker does not count them as clients yet. */
  private pending = 0;
  /** Streams open (or reserved) per client address, counted while a handler caps them. */
  private readonly perAddress = new AddressCounts();

  constructor(private readonly subscribers: Subscribers) {}

  /**
   * Reserves a slot for one more stream from `address`, or throws 503
   * (broker full, with `Retry-After`) or 429 (address over its cap). The
   * check and the reservation are one synchronous step, and a reserved slot
   * counts until it is cancelled or its client ends, so the caps hold
   * however many admissions settle in the same tick.
   */
  reserve(address: string | undefined, caps: SlotCaps): ClientSlot {
    if (this.subscribers.size + this.pending >= caps.maxClients) {
      throw new SSEError("sse: too many clients", 503, { headers: { "Retry-After": "5" } });
    }
    const capped = caps.maxClientsPerAddress !== Number.POSITIVE_INFINITY && address !== undefined;
    if (capped) this.perAddress.add(address, caps.maxClientsPerAddress);
    this.pending++;
    let state: "reserved" | "filled" | "cancelled" = "reserved";
    const releaseAddress = (): void => {
      if (capped) this.perAddress.remove(address);
    };
    return {
      fill: (client) => {
        state = "filled";
        this.pending--;
        if (capped) void client.done.then(releaseAddress);
      },
      cancel: () => {
        if (state !== "reserved") return;
        state = "cancelled";
        this.pending--;
        releaseAddress();
      },
    };
  }
}
