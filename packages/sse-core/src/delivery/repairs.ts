import type { Frame } from "../wire/frame.js";
import type { ClientSnapshot, RepairReason, TopicRule } from "../wire/topic-policy.js";
import type { Client } from "./client.js";
import type { OrderPosition } from "./shown-events.js";

/**
 * One topic of a client being repaired: `"needed"` until the client has
 * written everything queued (a stuck client asks for nothing), `"waiting"`
 * for a render to start, `"running"` while one renders.
 */
interface Repair {
  phase: "needed" | "waiting" | "running";
  readonly reason: RepairReason;
  /** While `"running"`: the render it waits for (only that render's end finishes it). */
  render?: object;
}

/** The side of a client that its repairs' renderer talks to. @internal */
export interface RepairTarget extends Client {
  /** Its own renderer of snapshots (a handler's `snapshot` option, bound to the request), if any. */
  readonly renderSnapshot?: ClientSnapshot;
  /**
   * A render of `topic` for this client started (`render`, any object that
   * names it until it ends): events of the topic published from now on
   * follow it; on a backplane, it covers those up to `head` (the engine's
   * head before it started), which the client skips.
   */
  repairStarted(topic: string, render: object, head?: OrderPosition): void;
  /**
   * The render `render` of `topic` ended: when it is the one this client
   * waits for, `frame`, the snapshot (or a state topic's latest event; none
   * when it has none, or the render failed), goes first. True when `frame`
   * was queued for it (false: it no longer waited, or waits for another
   * render).
   */
  repaired(topic: string, frame: Frame | undefined, render: object): boolean;
}

/** Who renders repairs: the broker's snapshots. @internal */
export interface RepairHost {
  /** `client` can take its repair of `topic` now (it wrote everything queued). */
  request(client: RepairTarget, topic: string, reason: RepairReason): void;
  /** The broker's position now (the seq of its latest publish), when it assigns ids. */
  position(): number | undefined;
  /**
   * `frame` carrying the repair id of position `cursor` (undefined, the
   * broker assigns no ids: as it is), encoded once per cursor: a resume from
   * it repairs the client's repairable topics again.
   */
  stamp(frame: Frame, cursor: number | undefined): Frame;
}

/**
 * The topics of one client whose events it cannot be sent exactly (its
 * `Last-Event-ID` missed, or its buffer overflowed on them), each waiting
 * for a snapshot (a log topic) or its latest event (a state topic) to
 * replace what it lost. Live events of such a topic are dropped until its
 * render starts (the render covers them), then queued as usual. While a
 * render is in flight the client writes nothing (it is paused): its
 * repairs then go first, stamped with the id of its position when the pause
 * began, so the ids it sees never go backwards.
 *
 * From the moment a repair is needed until the client writes an event
 * published after its last repair's render started, every id it is sent is
 * a *repair id* (`<epoch>-<seq>r`, {@link RepairHost.stamp}): until then its
 * copy of a repaired topic is behind the id (the repair has not come) or
 * ahead of it (a snapshot covers events after it), so a reconnect with such
 * an id must not resume that topic exactly. It resumes its other topics
 * exactly and repairs the repairable ones again. @internal
 */
export class Repairs {
  /** @param host - who renders them (the broker's snapshots), and stamps ids. */
  constructor(private readonly host: RepairHost) {}

  private readonly open = new Map<string, Repair>();
  /** Repairs in phase `"needed"`. */
  private needed = 0;
  /** Repairs requested and not finished (`"waiting"` or `"running"`). */
  private inFlight = 0;
  /** The client's position when its pause began: it had every event up to it. */
  private cursor: number | undefined;
  /** Repairs that ended during this pause, to go out together when it ends. */
  private ready: Frame[] = [];
  /** True from a repair's need until the client wrote an event past every repair (see the class). */
  private marking = false;
  /** The broker's position when the latest of the client's repair renders started. */
  private cleanAt = 0;

  /** True while some repair waits for the client to drain. */
  get due(): boolean {
    return this.needed > 0;
  }

  /** True while a render for the client is in flight: it writes nothing meanwhile. */
  get paused(): boolean {
    return this.inFlight > 0;
  }

  /** True while the ids the client is sent must be repair ids. */
  get marks(): boolean {
    return this.marking;
  }

  /**
   * Whether the event of position `seq`, the next the client writes, must
   * carry a repair id; once it is past every repair (none open, and `seq`
   * after the last render's start), no longer, nor any event after it.
   */
  marksAt(seq: number): boolean {
    if (this.marking && this.open.size === 0 && seq >= this.cleanAt) this.marking = false;
    return this.marking;
  }

  /**
   * `frames`, about to be written in order, each given a repair id while the
   * client must be sent them (see the class); frames of no position (a
   * resume-miss event) and repairs (already stamped) as they are.
   */
  mark(frames: Frame[]): Frame[] {
    for (let i = 0; i < frames.length && this.marking; i++) {
      const frame = frames[i]!;
      if (frame.seq > 0 && this.marksAt(frame.seq)) frames[i] = this.host.stamp(frame, frame.seq);
    }
    return frames;
  }

  /** True when `frame` is covered by a render to come (its topic's repair has not started yet). */
  covers(frame: Frame): boolean {
    const phase = this.open.get(frame.topic)?.phase;
    return phase === "needed" || phase === "waiting";
  }

  /** `topic` needs a repair (again: a newer render covers whatever came before). */
  need(topic: string, reason: RepairReason): void {
    this.marking = true;
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
  request(target: RepairTarget): void {
    const host = this.host;
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

  /**
   * A render for `topic` (`render`) started now (the broker's position), or, on a
   * backplane, covering every event up to `head`: its events from now on
   * are queued as usual. Returns `head` when it is ahead of this broker
   * (the client skips what it covers, should it still come); undefined too
   * when the client was not waiting for this render.
   */
  started(topic: string, render: object, head?: OrderPosition): OrderPosition | undefined {
    const repair = this.open.get(topic);
    if (repair?.phase !== "waiting") return undefined;
    repair.phase = "running";
    repair.render = render;
    const now = this.host.position() ?? 0;
    const ahead = head !== undefined && head.seq > now ? head : undefined;
    const position = ahead?.seq ?? now;
    if (position > this.cleanAt) this.cleanAt = position;
    return ahead;
  }

  /**
   * The render `render` of `topic` ended: when it is the one the repair
   * runs, the repair is over (true); false when this client no longer
   * waited for that render (it needs, or waits for, a newer one: a render
   * of its own may overlap one of the topic's rule).
   */
  finish(topic: string, frame: Frame | undefined, render: object): boolean {
    const repair = this.open.get(topic);
    if (repair?.phase !== "running" || repair.render !== render) return false;
    this.open.delete(topic);
    this.inFlight--;
    if (frame !== undefined) this.ready.push(frame);
    return true;
  }

  /**
   * Once the pause is over: the frames of the repairs that ended in it, in
   * order, each with the repair id of the client's position when the pause
   * began (it had every event up to it).
   */
  release(): Frame[] | undefined {
    if (this.inFlight > 0 || this.ready.length === 0) return undefined;
    const frames = this.ready.map((frame) => this.host.stamp(frame, this.cursor));
    this.ready = [];
    return frames;
  }
}

/**
 * True when a topic of `rule` can be repaired for a client (`own`: it has a
 * renderer of its own): a state topic, a log with a snapshot, or a log with
 * a target for a client that renders its own. Others lose events as topics
 * without a rule do. @internal
 */
export function repairable(rule: TopicRule | undefined, own: boolean): boolean {
  if (rule === undefined) return false;
  return rule.kind === "state" || rule.snapshot !== undefined || (own && rule.target !== undefined);
}
