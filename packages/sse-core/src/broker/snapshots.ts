import type { Backplane } from "../backplane/backplane.js";
import { warn } from "../base/warn.js";
import type { RepairHost, RepairTarget } from "../delivery/repairs.js";
import { encodeValid } from "../wire/encode.js";
import { type Frame, toBytes } from "../wire/frame.js";
import { snapshotFrame } from "../wire/snapshot-frame.js";
import type { RepairReason, TopicRule } from "../wire/topic-policy.js";
import type { BrokerCounters } from "./broker-stats.js";
import { LastValues } from "./last-values.js";
import type { Observers } from "./observer.js";
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

/** The renders of one log topic's snapshot: at most one at a time. */
interface Job {
  /** Clients waiting for the next render, each with why. */
  waiting: Map<RepairTarget, RepairReason>;
  /** True while the next render is queued (a microtask), or one runs. */
  busy: boolean;
}

/**
 * What repairs a broker's clients: a state topic's latest event (kept here,
 * one per topic), or a log topic's snapshot, rendered by the app at most
 * once at a time per topic, for every client waiting when it starts (so a
 * burst that overflows a thousand clients renders it once), and encoded
 * once. A client that asks while a render runs waits for the next one: the
 * running one may miss events it already lost. On a backplane, a state
 * topic's latest event not known here is read from the engine first
 * ({@link LastValues}). Counts what it sends, by reason. @internal
 */
export class Snapshots implements RepairHost {
  private readonly latest = new Map<string, Frame>();
  private readonly jobs = new Map<string, Job>();
  /** Frames given an id of a client's position, per frame and position. */
  private readonly stamped = new WeakMap<Frame, Map<number, Frame>>();
  private warned = false;
  /** With a backplane that reads a topic's latest event: state topics not known here. */
  private readonly lastValues: LastValues | undefined;

  constructor(
    private readonly ids: RepairIds | undefined,
    private readonly rules: TopicRules,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
    backplane?: Backplane,
  ) {
    if (typeof backplane?.last !== "function") return;
    this.lastValues = new LastValues(backplane, {
      known: (topic) => this.latest.get(topic),
      keep: (frame) => this.latest.set(frame.topic, frame),
      fallBack: (client, topic, reason) => this.repair(client, topic, reason, this.rules.of(topic)),
      sent: (client, topic, reason) => this.sent(client, topic, reason),
    });
  }

  /** Keeps `frame` when it is a state topic's: the latest event of its topic. */
  record(frame: Frame): void {
    if (frame.rule?.kind !== "state") return;
    this.latest.set(frame.topic, frame);
    this.lastValues?.answered(frame.topic);
  }

  /** State topics whose read from the engine gave nothing since the link was last back. */
  unanswered(): string[] {
    return this.lastValues?.takeUnanswered() ?? [];
  }

  /** Forgets `topic`'s latest event (its events no longer reach this broker). */
  forget(topic: string): void {
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
    const event = Object.freeze({ ...frame.event, id });
    const stamped: Frame = { ...frame, event, chunk: toBytes(encodeValid(event)), seq: cursor };
    delete stamped.variants;
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
    if (rule?.kind === "state" && this.lastValues !== undefined && !this.latest.has(topic)) {
      // Not known here (this broker did not watch it): the engine may know it.
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
    if (latest !== undefined || rule?.snapshot === undefined) {
      // A state topic's latest event, at once (none: nothing is known of it, and no snapshot).
      client.repairStarted(topic);
      if (client.repaired(topic, latest)) this.sent(client, topic, reason);
      return;
    }
    let job = this.jobs.get(topic);
    if (job === undefined) {
      job = { waiting: new Map(), busy: false };
      this.jobs.set(topic, job);
    }
    job.waiting.set(client, reason);
    if (!job.busy) this.queue(topic, rule, job);
  }

  /** Starts the next render of `topic` at the end of this tick (every client asking by then joins it). */
  private queue(topic: string, rule: TopicRule, job: Job): void {
    job.busy = true;
    queueMicrotask(() => this.render(topic, rule, job));
  }

  /**
   * Renders `topic`'s snapshot for the clients waiting now; on a backplane,
   * once the engine's head is known (at most the snapshot's timeout): the
   * render covers every event up to it, which its clients then skip.
   */
  private render(topic: string, rule: TopicRule, job: Job): void {
    const ids = this.ids;
    if (ids?.head === undefined) {
      this.renderAfter(topic, rule, job, undefined);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, rule.snapshotTimeoutMs, undefined);
      timer.unref?.();
    });
    Promise.race([ids.head().catch(() => undefined), late]).then((head) => {
      clearTimeout(timer);
      this.renderAfter(topic, rule, job, head);
    });
  }

  /** Renders `topic` for the clients waiting now, its render covering the events up to `head`. */
  private renderAfter(topic: string, rule: TopicRule, job: Job, head: Position | undefined): void {
    const clients = job.waiting;
    job.waiting = new Map();
    for (const client of clients.keys()) client.repairStarted(topic, head);
    let settled = false;
    const settle = (html: unknown, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.deliver(topic, rule, clients, html, error);
      if (job.waiting.size > 0) this.queue(topic, rule, job);
      else {
        job.busy = false;
        this.jobs.delete(topic);
      }
    };
    const timer = setTimeout(
      () => settle(undefined, new Error(`did not settle within ${rule.snapshotTimeoutMs} ms`)),
      rule.snapshotTimeoutMs,
    );
    timer.unref?.();
    let result: unknown;
    try {
      result = rule.snapshot!(topic);
    } catch (error) {
      settle(undefined, error);
      return;
    }
    Promise.resolve(result).then(settle, (error: unknown) =>
      settle(undefined, error ?? "rejected"),
    );
  }

  /** One render ended: its frame (encoded once) to each of its clients, or, failed, what they held. */
  private deliver(
    topic: string,
    rule: TopicRule,
    clients: Map<RepairTarget, RepairReason>,
    html: unknown,
    error: unknown,
  ): void {
    let frame: Frame | undefined;
    if (error === undefined) {
      try {
        if (typeof html !== "string")
          throw new TypeError(`returned ${typeof html}, not a string of HTML`);
        const target = typeof rule.target === "function" ? rule.target(topic) : rule.target!;
        frame = snapshotFrame(topic, html, target, rule);
      } catch (thrown) {
        error = thrown;
      }
    }
    if (error !== undefined) this.failed(topic, error);
    for (const [client, reason] of clients) {
      if (client.repaired(topic, frame)) this.sent(client, topic, reason);
    }
  }

  private sent(client: RepairTarget, topic: string, reason: RepairReason): void {
    this.counters.snapshots[reason]++;
    this.observers.notify("snapshot", client, { topic, reason });
  }

  private failed(topic: string, error: unknown): void {
    this.counters.snapshotFailures++;
    if (this.warned) return;
    this.warned = true;
    const why = error instanceof Error ? error.message : String(error);
    warn(
      `sse: the snapshot of topic ${JSON.stringify(topic)} failed (${why}); its clients got the ` +
        "events held meanwhile, and their region may stay behind until they reconnect. " +
        "(Warned once per broker; stats().snapshotFailures counts every failure.)",
      "SSE_SNAPSHOT_FAILED",
    );
  }
}
