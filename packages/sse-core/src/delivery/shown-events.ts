import type { Frame } from "../wire/frame.js";

/** A place in a backplane's order: its epoch, and a seq in it. @internal */
export interface OrderPosition {
  readonly epoch: string;
  readonly seq: number;
}

/**
 * What a page already shows, per topic, up to a position in a backplane's
 * order (a snapshot covered it, or the page's own cursor): events up to it
 * may still reach its client (late, or read back after a cut) and are
 * skipped; the first event past it ends the skipping of its topic (the order
 * only goes on from there). @internal
 */
export class ShownEvents {
  private readonly upTo = new Map<string, OrderPosition>();

  /** True when nothing is skipped any more. */
  get empty(): boolean {
    return this.upTo.size === 0;
  }

  /** The page shows the events of `topics` up to `position`. */
  add(topics: readonly string[], position: OrderPosition): void {
    for (const topic of topics) {
      if (position.seq > (this.upTo.get(topic)?.seq ?? 0)) this.upTo.set(topic, position);
    }
  }

  /** True when the page already shows `frame` (skip it). */
  shows(frame: Frame): boolean {
    const upTo = this.upTo.get(frame.topic);
    if (upTo === undefined || frame.seq === 0) return false;
    if (frame.rule?.local === true) {
      // A local topic's seqs are this process's, not the backplane's order: nothing to skip.
      this.upTo.delete(frame.topic);
      return false;
    }
    // An id of another epoch (the engine's order started again) is past it too.
    if (frame.seq <= upTo.seq && frame.event.id?.startsWith(`${upTo.epoch}-`) !== false)
      return true;
    this.upTo.delete(frame.topic);
    return false;
  }
}
