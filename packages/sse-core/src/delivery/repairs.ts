import type { Frame } from "../wire/frame.js";
import type { RepairReason } from "../wire/topic-policy.js";
import type { Client } from "./client.js";

/**
 * One topic of a client being repaired: `"needed"` until the client has
 * written everything queued (a stuck client asks for nothing), `"waiting"`
 * for a render to start, `"running"` while one renders.
 */
interface Repair {
  phase: "needed" | "waiting" | "running";
  readonly reason: RepairReason;
}

/** The side of a client that its repairs' renderer talks to. @internal */
export interface RepairTarget extends Client {
  /** A render of `topic` for this client started: events of the topic published from now on follow it. */
  repairStarted(topic: string): void;
  /**
   * The render of `topic` this client waited for ended: `frame`, the
   * snapshot (or a state topic's latest event; none when it has none, or
   * the render failed), goes first. True when `frame` was queued for it
   * (false: it no longer waited, or needs a newer one).
   */
  repaired(topic: string, frame: Frame | undefined): boolean;
}

/** Who renders repairs: the broker's snapshots. @internal */
export interface RepairHost {
  /** `client` can take its repair of `topic` now (it wrote everything queued). */
  request(client: RepairTarget, topic: string, reason: RepairReason): void;
  /** The broker's position now (the seq of its latest publish), when it assigns ids. */
  position(): number | undefined;
  /**
   * `frame` carrying the id of position `cursor` (`null`: no id; undefined,
   * the broker assigns none: as it is), encoded once per cursor.
   */
  stamp(frame: Frame, cursor: number | null | undefined): Frame;
}

/**
 * The topics of one client whose events it cannot be sent exactly (its
 * `Last-Event-ID` missed, or its buffer overflowed on them), each waiting
 * for a snapshot (a log topic) or its latest event (a state topic) to
 * replace what it lost. Live events of such a topic are dropped until its
 * render starts (the render covers them), then queued as usual. While a
 * render is in flight the client writes nothing (it is paused): its
 * repairs then go first, stamped with the id of its position when the pause
 * began, so the ids it sees never go backwards and a reconnect resumes
 * exactly from any of them. @internal
 */
export class Repairs {
  private readonly open = new Map<string, Repair>();
  /** Repairs in phase `"needed"`. */
  private needed = 0;
  /** Repairs requested and not finished (`"waiting"` or `"running"`). */
  private inFlight = 0;
  /** The client's position when its pause began: it had every event up to it. */
  private cursor: number | undefined;
  /** Repairs that ended during this pause, to go out together when it ends. */
  private ready: Frame[] = [];

  /** True while some repair waits for the client to drain. */
  get due(): boolean {
    return this.needed > 0;
  }

  /** True while a render for the client is in flight: it writes nothing meanwhile. */
  get paused(): boolean {
    return this.inFlight > 0;
  }

  /** True when `frame` is covered by a render to come (its topic's repair has not started yet). */
  covers(frame: Frame): boolean {
    const phase = this.open.get(frame.topic)?.phase;
    return phase === "needed" || phase === "waiting";
  }

  /** `topic` needs a repair (again: a newer render covers whatever came before). */
  need(topic: string, reason: RepairReason): void {
    const repair = this.open.get(topic);
    if (repair === undefined) {
      this.open.set(topic, { phase: "needed", reason });
      this.needed++;
      return;
    }
    if (repair.phase === "needed") return;
    this.inFlight--;
    this.needed++;
    repair.phase = "needed";
  }

  /** Asks `host` for every repair in phase `"needed"`, on behalf of `target`. */
  request(host: RepairHost, target: RepairTarget): void {
    const topics: [string, Repair][] = [];
    for (const entry of this.open) if (entry[1].phase === "needed") topics.push(entry);
    if (this.inFlight === 0) this.cursor = host.position();
    for (const [, repair] of topics) {
      repair.phase = "waiting";
      this.needed--;
      this.inFlight++;
    }
    // A state topic's repair ends at once (and may need another: the list is a copy).
    for (const [topic, repair] of topics) host.request(target, topic, repair.reason);
  }

  /** A render for `topic` started: its events from now on are queued as usual. */
  started(topic: string): void {
    const repair = this.open.get(topic);
    if (repair?.phase === "waiting") repair.phase = "running";
  }

  /**
   * The render of `topic` ended: the repair is over; returns the position
   * its frame stands for, or false when this client no longer waited for
   * that render (it needs, or waits for, a newer one).
   */
  finish(topic: string, frame: Frame | undefined): boolean {
    const repair = this.open.get(topic);
    if (repair?.phase !== "running") return false;
    this.open.delete(topic);
    this.inFlight--;
    if (frame !== undefined) this.ready.push(frame);
    return true;
  }

  /**
   * Once the pause is over: the frames of the repairs that ended in it, in
   * order, and the position the last of them stands for (only the last one
   * carries an id: a client cut off between them resumes from before all).
   */
  release(): { frames: Frame[]; cursor: number | undefined } | undefined {
    if (this.inFlight > 0 || this.ready.length === 0) return undefined;
    const frames = this.ready;
    this.ready = [];
    return { frames, cursor: this.cursor };
  }
}
