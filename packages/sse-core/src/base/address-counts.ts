import { SSEError } from "./errors.js";

/**
 * Streams open per client address, each address under a cap: what
 * `maxClientsPerAddress` counts, for a broker's slots and for a stream
 * handler's. An address is listed only while it has a stream. @internal
 */
export class AddressCounts {
  private readonly open = new Map<string, number>();

  /** Counts one more stream from `address`, or throws 429 when it has `cap` open already. */
  add(address: string, cap: number): void {
    const open = this.open.get(address) ?? 0;
    if (open >= cap) {
      throw new SSEError(`sse: too many streams from this address (at most ${cap})`, 429);
    }
    this.open.set(address, open + 1);
  }

  /** One stream from `address` ended. */
  remove(address: string): void {
    const left = (this.open.get(address) ?? 1) - 1;
    if (left === 0) this.open.delete(address);
    else this.open.set(address, left);
  }
}
