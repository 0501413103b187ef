import type { Backplane } from "../backplane/backplane.js";
import { formatEventId, parseEventId } from "../backplane/event-id.js";
import type { Frame } from "../wire/frame.js";
import type { Position, RepairIds } from "./snapshots.js";

/**
 * Where a broker on a backplane stands in the backplane's order: the seq of
 * the latest event it received for a topic it serves, and the epoch of the
 * backplane's ids (`<epoch>-<seq>`), read from the events' ids. The
 * positions and repair ids of its clients' repairs, as a local
 * {@link History} gives them without a backplane. Unknown (no repair ids)
 * until an event with a backplane-assigned id arrived. @internal
 */
export class ReceivedPosition implements RepairIds {
  private seq = 0;
  private epoch: string | undefined;

  constructor(private readonly backplane: Backplane) {}

  /** `frame` (delivered in the backplane's order) was received. */
  saw(frame: Frame): void {
    if (frame.seq === 0) return;
    const id = frame.event.id;
    const parsed = id === undefined ? undefined : parseEventId(id);
    if (parsed !== undefined && parsed.seq === frame.seq && parsed.epoch !== this.epoch) {
      // A new epoch (the backplane's history was reset): its seqs start again.
      this.epoch = parsed.epoch;
      this.seq = frame.seq;
      return;
    }
    if (frame.seq > this.seq) this.seq = frame.seq;
  }

  /** The seq of the latest event received (0: none yet). */
  position(): number {
    return this.seq;
  }

  /** The id of the latest event received; undefined while the epoch is not known. */
  id(): string | undefined {
    return this.epoch === undefined ? undefined : formatEventId(this.epoch, this.seq);
  }

  /** Undefined while the epoch is not known (nothing received, no head read). */
  repairIdFor(seq: number): string | undefined {
    return this.epoch === undefined ? undefined : `${this.epoch}-${seq}r`;
  }

  async head(): Promise<Position | undefined> {
    const latest = await this.backplane.latest?.();
    const head = latest === undefined ? undefined : parseEventId(latest);
    // Nothing received yet: the order's epoch is the head's.
    if (head !== undefined && this.epoch === undefined) this.epoch = head.epoch;
    return head;
  }
}
