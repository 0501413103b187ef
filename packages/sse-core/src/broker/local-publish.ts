import type { BackplaneReport } from "../backplane/backplane.js";
import type { SSEEvent } from "../wire/encode.js";
import { frameOf, receivedFrame } from "../wire/frame.js";
import type { ResolvedBrokerOptions } from "./broker-options.js";
import type { BrokerCounters } from "./broker-stats.js";
import { fanOut } from "./fan-out.js";
import { History } from "./history.js";
import { LocalTopics } from "./local-topics.js";
import type { Observers } from "./observer.js";
import { ReceivedPosition } from "./received-position.js";
import { Snapshots } from "./snapshots.js";
import type { TopicIndex } from "./topic-index.js";
import type { TopicRules } from "./topic-rules.js";

/**
 * The step of a publish on this process, once the event is checked: with
 * history, the event's seq and (when it has none) its id; its frame,
 * encoded once, with its topic's rule; the frame recorded (in history, and
 * a state topic's latest in the snapshots); then fanned out to the clients
 * of its topic. Also the way in of an event the backplane ordered, which is
 * not numbered here (the backplane's engine keeps history). One per broker,
 * the owner of its local history and its snapshots. @internal
 */
export class LocalPublish {
  /** The last `historySize` events per topic; none with `historySize` 0 or with a backplane. */
  readonly history: History | undefined;
  /** State topics' latest events, and log topics' snapshots. */
  readonly snapshots: Snapshots;
  readonly rules: TopicRules;
  /** With a backplane: where this broker stands in the backplane's order. */
  readonly received: ReceivedPosition | undefined;
  /** With a backplane and history: the history of the topics kept on this process, and their ids. */
  readonly kept: LocalTopics | undefined;

  constructor(
    options: Pick<ResolvedBrokerOptions, "historySize" | "backplane" | "topics">,
    private readonly index: TopicIndex,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
  ) {
    // With a backplane, history lives in the backplane's engine, shared by every process.
    this.history =
      options.historySize > 0 && options.backplane === undefined
        ? new History(options.historySize)
        : undefined;
    this.rules = options.topics;
    const { backplane } = options;
    this.received = backplane === undefined ? undefined : new ReceivedPosition(backplane);
    this.kept =
      this.received !== undefined && options.historySize > 0 && this.rules.someLocal
        ? new LocalTopics(options.historySize, this.rules, this.received)
        : undefined;
    const ids = this.history ?? this.received;
    this.snapshots = new Snapshots(ids, this.rules, counters, observers, backplane);
    // Unwatched, a state topic's events no longer come here: its latest would go stale.
    index.unwatched = (topic) => this.snapshots.forget(topic);
    index.left = (topic) => this.snapshots.left(topic);
    // A local topic's events never come through the backplane: it is not watched there.
    if (backplane !== undefined && this.rules.someLocal)
      index.kept = (topic) => this.rules.local(topic);
  }

  /**
   * Numbers, encodes, records and fans out `event` (checked, a copy the
   * broker owns: its id is set here): every event without a backplane, a
   * local topic's with one. Returns how many clients queued it.
   */
  publish(topic: string, event: SSEEvent): number {
    const kept = this.kept;
    const history = this.history ?? kept?.history;
    const subscribers = this.index.clientsOf(topic);
    const rule = this.rules.of(topic);
    if (history === undefined && subscribers === undefined && rule === undefined) return 0;
    const seq = history === undefined ? 0 : history.next();
    if (history !== undefined && !event.id) event.id = kept?.idFor(seq) ?? history.idFor(seq);
    const frame = frameOf(topic, event, seq, rule);
    this.snapshots.record(frame);
    history?.record(topic, frame);
    if (subscribers === undefined) return 0;
    return fanOut(subscribers, frame, this.counters, this.observers.list);
  }

  /**
   * Events of `topics` were lost on their way here (a backplane's cut it
   * could not read back): every client of those that can be repaired is.
   */
  lost(topics: readonly string[]): void {
    for (const topic of topics) {
      if (this.rules.of(topic) === undefined) continue;
      // A state topic's latest event here may be older than what was lost.
      this.snapshots.forget(topic);
      for (const client of this.index.clientsOf(topic) ?? []) client.repair(topic, "miss");
    }
  }

  /**
   * What the backplane's link did, told to the observers; back to ready, it
   * repairs again the state topics whose value it could not read meanwhile.
   */
  report(report: BackplaneReport): void {
    this.observers.notify("backplane", report);
    if (report.kind === "state") this.snapshots.linkChanged();
    if (report.kind === "state" && report.state === "ready") this.lost(this.snapshots.unanswered());
  }

  /** Fans out an event the backplane ordered (seq 0: published here while it was down). */
  receive(topic: string, event: SSEEvent, seq: number): void {
    const subscribers = this.index.clientsOf(topic);
    const rule = this.rules.of(topic);
    // A local topic published by a process that does not keep it local: not this one's.
    if ((subscribers === undefined && rule?.kind !== "state") || rule?.local === true) return;
    const frame = receivedFrame(topic, event, seq, rule);
    this.received?.saw(frame);
    this.snapshots.record(frame);
    if (subscribers === undefined) return;
    fanOut(subscribers, frame, this.counters, this.observers.list);
  }
}
