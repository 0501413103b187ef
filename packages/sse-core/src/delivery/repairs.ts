import type { Frame } from "../wire/frame.js";
import type { RepairReason } from "../wire/topic-policy.js";
import type { Client } from "./client.js";

/**
 * One topic of a client being repaired: `"needed"` until the client has
 * written everything queued (a stuck client asks for nothing), `"waiting"`
 * for a render to start, `"running"` while one renders (live events of the
 * topic are held then, to follow the snapshot).
 */
interface Repair {
  phase: "needed" | "waiting" | "running";
  readonly reason: RepairReason;
  held: Frame[];
}

/** The side of a client that its repairs' renderer talks to. @internal */
export interface RepairTarget extends Client {
  /** A render of `topic` for this client started: events of the topic published from now on follow it. */
  repairStarted(topic: string): void;
  /**
   * The render of `topic` this client waited for ended: `frame`, the
   * snapshot (or a state topic's latest event; none when it has none, or the
   * render failed), then the events held meanwhile. True when `frame` was
   * queued for it (false: it no longer waited, or needs a newer one).
   */
  repaired(topic: string, frame: Frame | undefined): boolean;
}

/** Who renders repairs: the broker's snapshots. @internal */
export interface RepairHost {
  /** `client` can take its repair of `topic` now (it wrote everything queued). */
  request(client: RepairTarget, topic: string, reason: RepairReason): void;
}

/**
 * The topics of one client whose events it cannot be sent exactly (its
 * `Last-Event-ID` missed, or its buffer overflowed on them), each waiting
 * for a snapshot (a log topic) or its latest event (a state topic) to
 * replace what it lost. Live events of such a topic are dropped until the
 * render starts (it covers them), then held (at most `bound`; past that a
 * newer render is needed) and queued after it. @internal
 */
export class Repairs {
  private readonly open = new Map<string, Repair>();
  /** Repairs in phase `"needed"`. */
  private needed = 0;

  constructor(private readonly bound: number) {}

  /** True while some repair waits for the client to drain. */
  get due(): boolean {
    return this.needed > 0;
  }

  /** True while `topic` is being repaired. */
  has(topic: string): boolean {
    return this.open.has(topic);
  }

  /** `topic` needs a repair (again: whatever was held is covered by a newer render). */
  need(topic: string, reason: RepairReason): void {
    const repair = this.open.get(topic);
    if (repair === undefined) {
      this.open.set(topic, { phase: "needed", reason, held: [] });
      this.needed++;
      return;
    }
    if (repair.phase !== "needed") this.needed++;
    repair.phase = "needed";
    repair.held = [];
  }

  /**
   * A live frame of a topic under repair: held while a render runs, else
   * dropped (the render to come covers it). Past `bound` held, the topic
   * needs a newer render.
   */
  claim(frame: Frame): void {
    const repair = this.open.get(frame.topic)!;
    if (repair.phase !== "running") return;
    if (repair.held.length < this.bound) repair.held.push(frame);
    else this.need(frame.topic, repair.reason);
  }

  /** Asks `host` for every repair in phase `"needed"`, on behalf of `target`. */
  request(host: RepairHost, target: RepairTarget): void {
    for (const [topic, repair] of this.open) {
      if (repair.phase !== "needed") continue;
      repair.phase = "waiting";
      this.needed--;
      host.request(target, topic, repair.reason);
    }
  }

  /** A render for `topic` started: events from now on are held. False when no repair waited for it. */
  started(topic: string): boolean {
    const repair = this.open.get(topic);
    if (repair?.phase !== "waiting") return false;
    repair.phase = "running";
    repair.held = [];
    return true;
  }

  /**
   * The render of `topic` ended: the repair is over, and returns its reason
   * and the events held meanwhile; undefined when this client no longer
   * waited for that render (it needs a newer one).
   */
  finish(topic: string): { reason: RepairReason; held: Frame[] } | undefined {
    const repair = this.open.get(topic);
    if (repair?.phase !== "running") return undefined;
    this.open.delete(topic);
    return repair;
  }
}
