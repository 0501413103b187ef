import type { Backplane } from "../backplane/backplane.js";
import type { RepairHost, RepairTarget } from "../delivery/repairs.js";
import { type Frame, frameWithId } from "../wire/frame.js";
import type { RepairReason, TopicRule } from "../wire/topic-policy.js";
import type { BrokerCounters } from "./broker-stats.js";
import { LastValues } from "./last-values.js";
import type { Observers } from "./observer.js";
import { ReusableSnapshots } from "./reusable-snapshots.js";
import { SnapshotJobs } from "./snapshot-jobs.js";
import type { TopicRules } from "./topic-rules.js";

/**
 * Where a broker stands in its order of events, and the ids that name a
 * position for a client with a repair outstanding: its local
 * {@link History}, or, with a backplane, what it received. @internal
 */
export interface RepairIds {
  /** The seq of the latest event (undefined: not known, no ids given). */
  position(): number | undefined;
  /** The repair id of position `seq` (`<epoch>-<seq>r`); undefined while it cannot be told. */
  repairIdFor(seq: number): string | undefined;
  /**
   * On a backplane: the seq of the latest event ordered on any process (the
   * engine's head), which the app's state may show before this process
   * received it; a snapshot rendered after it covers every event up to it.
   * Undefined when it cannot be told. Absent: {@link RepairIds.position}.
   */
  head?(): Promise<Position | undefined>;
}

/** A place in a backplane's order: its epoch, and a seq in it. @internal */
export interface Position {
  readonly epoch: string;
  readonly seq: number;
}

/**
 * What repairs a broker's clients: a state topic's latest event (kept here,
 * one per topic), or a log topic's snapshot, rendered by the app at most
 * once at a time per topic, for every client waiting when it starts (so a
 * burst that overflows a thousand clients renders it once), and encoded
 * once. A client that asks while a render runs waits for the next one: the
 * running one may miss events it already lost. A render is sent again, to
 * clients that ask later, while its topic publishes nothing from its start
 * on, for at most its rule's `snapshotReuseMs` ({@link ReusableSnapshots}). On a backplane, a state
 * topic's latest event not known here is read from the engine first
 * ({@link LastValues}). Counts what it sends, by reason. @internal
 */
export class Snapshots implements RepairHost {
  private readonly latest = new Map<string, Frame>();
  /** The renders of log topics' snapshots. */
  private readonly jobs: SnapshotJobs;
  /** The last render of each topic, while still as good as a fresh one. */
  private readonly reusable = new ReusableSnapshots();
  /** Frames given an id of a client's position, per frame and position. */
  private readonly stamped = new WeakMap<Frame, Map<number, Frame>>();
  /** With a backplane that reads a topic's latest event: state topics not known here. */
  private readonly lastValues: LastValues | undefined;

  constructor(
    private readonly ids: RepairIds | undefined,
    private readonly rules: TopicRules,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
    backplane?: Backplane,
  ) {
    const head = ids?.head === undefined ? undefined : () => ids.head!();
    this.jobs = new SnapshotJobs({
      counters,
      reusable: this.reusable,
      head,
      sent: (client, topic, reason) => this.sent(client, topic, reason),
    });
    if (typeof backplane?.last !== "function") return;
    this.lastValues = new LastValues(backplane, {
      known: (topic) => this.latest.get(topic),
      keep: (frame) => this.latest.set(frame.topic, frame),
      fallBack: (client, topic, reason) => this.repair(client, topic, reason, this.rules.of(topic)),
      sent: (client, topic, reason) => this.sent(client, topic, reason),
    });
  }

  /**
   * An event came (published here, or received): no render of its topic so
   * far is sent again; kept when it is a state topic's (the latest event of
   * its topic).
   */
  record(frame: Frame): void {
    this.reusable.spoil(frame.topic);
    if (frame.rule?.kind !== "state") return;
    this.latest.set(frame.topic, frame);
    this.lastValues?.answered(frame.topic);
  }

  /** State topics whose read from the engine gave nothing since the link was last back. */
  unanswered(): string[] {
    return this.lastValues?.takeUnanswered() ?? [];
  }

  /** `topic`'s last client left: its last render is not sent again (nobody would spoil it). */
  left(topic: string): void {
    this.reusable.spoil(topic);
  }

  /** The backplane's link changed state: no render so far is sent again. */
  linkChanged(): void {
    this.reusable.clear();
  }

  /** Forgets `topic`'s latest event and last render (its events no longer reach this broker). */
  forget(topic: string): void {
    this.reusable.spoil(topic);
    this.latest.delete(topic);
    this.lastValues?.forget(topic);
  }

  position(): number | undefined {
    return this.ids?.position();
  }

  stamp(frame: Frame, cursor: number | undefined): Frame {
    const ids = this.ids;
    if (ids === undefined || cursor === undefined) return frame;
    const id = ids.repairIdFor(cursor);
    if (id === undefined || frame.event.id === id) return frame;
    let byCursor = this.stamped.get(frame);
    const known = byCursor?.get(cursor);
    if (known !== undefined) return known;
    const stamped = frameWithId(frame, id, cursor);
    if (byCursor === undefined) {
      byCursor = new Map();
      this.stamped.set(frame, byCursor);
    }
    // Positions only grow: the last few are all a burst of clients asks for.
    if (byCursor.size >= 8) byCursor.clear();
    byCursor.set(cursor, stamped);
    return stamped;
  }

  request(client: RepairTarget, topic: string, reason: RepairReason): void {
    const rule = this.rules.of(topic);
    if (
      rule?.kind === "state" &&
      !rule.local &&
      this.lastValues !== undefined &&
      !this.latest.has(topic)
    ) {
      // Not known here (this broker did not watch it): the engine may know it (not a local topic's).
      this.lastValues.request(client, topic, rule, reason);
      return;
    }
    this.repair(client, topic, reason, rule);
  }

  /** Repairs `topic` for `client` with what this broker has: a state topic's latest, or a render. */
  private repair(
    client: RepairTarget,
    topic: string,
    reason: RepairReason,
    rule: TopicRule | undefined,
  ): void {
    const latest = rule?.kind === "state" ? this.latest.get(topic) : undefined;
    const own = rule?.target !== undefined && client.renderSnapshot !== undefined;
    if (latest !== undefined || rule === undefined || (rule.snapshot === undefined && !own)) {
      // A state topic's latest event, at once (none: nothing is known of it, and no snapshot).
      const render = {};
      client.repairStarted(topic, render);
      if (client.repaired(topic, latest, render)) this.sent(client, topic, reason);
      return;
    }
    this.jobs.request(client, topic, rule, reason);
  }

  private sent(client: RepairTarget, topic: string, reason: RepairReason): void {
    this.counters.snapshots[reason]++;
    this.observers.notify("snapshot", client, { topic, reason });
  }
}
