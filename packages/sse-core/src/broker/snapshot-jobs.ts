import { warn } from "../base/warn.js";
import { within } from "../base/within.js";
import type { RepairTarget } from "../delivery/repairs.js";
import type { OrderPosition } from "../delivery/shown-events.js";
import type { Frame } from "../wire/frame.js";
import { snapshotFrame } from "../wire/snapshot-frame.js";
import type { RepairReason, TopicRule } from "../wire/topic-policy.js";
import type { BrokerCounters } from "./broker-stats.js";
import type { ReusableSnapshot, ReusableSnapshots } from "./reusable-snapshots.js";
import { TopicJobs, type TopicLine } from "./topic-jobs.js";

/** Why a client's own render fails when its renderer returns undefined and the rule has no snapshot. */
const NO_FALLBACK =
  "returned undefined, and the topic's policy in the broker's topics option has no snapshot " +
  "to fall back to: return the region's HTML, or give the policy a snapshot";

/** What a render that did not settle within its timeout gives. */
const TIMED_OUT = Symbol("timed out");

/** Why a client's own render fails when its renderer's promise resolves to undefined. */
const LATE_FALLBACK =
  "resolved to undefined, not a string of HTML: to fall back to the policy's snapshot, " +
  "return undefined itself, not a promise of it";

/**
 * The renders of one snapshot, at most one at a time: of a topic's rule (for
 * every client waiting when it starts), or of one client's own renderer
 * (for that client alone).
 */
interface Job extends TopicLine {
  readonly rule: TopicRule;
  /** The client whose own renderer it calls; undefined: the rule's, shared. */
  readonly owner: RepairTarget | undefined;
}

/** What the renders need around them. @internal */
export interface SnapshotJobsHost {
  readonly counters: BrokerCounters;
  /** The rules' last snapshots still as good as a fresh render (kept by the renders, spoiled by the host). */
  readonly reusable: ReusableSnapshots;
  /** On a backplane: the engine's head now (a render covers every event up to it). */
  readonly head?: (() => Promise<OrderPosition | undefined>) | undefined;
  /** `client` was sent its repair of `topic` (counted, observed). */
  sent(client: RepairTarget, topic: string, reason: RepairReason): void;
}

/**
 * The renders of log topics' snapshots: a rule's at most once at a time per
 * topic, for every client waiting when it starts (so a burst that overflows
 * a thousand clients renders it once), encoded once; a client that asks
 * while a render runs waits for the next one (the running one may miss
 * events it already lost), unless its topic published nothing since that
 * one started: a rule's snapshot serves every client that asks while its
 * topic publishes nothing from the start of its render on, for at most the
 * rule's `snapshotReuseMs` ({@link ReusableSnapshots}). A client with a renderer of its own (a handler's
 * `snapshot`, bound to its request) is rendered for alone, at most once at
 * a time per topic, on the same terms; when its renderer returns undefined,
 * it joins the rule's. On a backplane a render starts once the engine's
 * head is known (at most the snapshot's timeout): it covers every event up
 * to it, which its clients then skip. A failure is counted and warned of
 * once. @internal
 */
export class SnapshotJobs {
  /** Renders of the rules' snapshots, per topic. */
  private readonly shared = this.jobs();
  /** Renders of clients' own snapshots, per client and topic. */
  private readonly own = new Map<RepairTarget, TopicJobs<Job>>();
  private warned = false;

  constructor(private readonly host: SnapshotJobsHost) {}

  /** `client` waits for the next render of `topic`: its own renderer's when it has one, else the rule's. */
  request(client: RepairTarget, topic: string, rule: TopicRule, reason: RepairReason): void {
    const own = rule.target !== undefined && client.renderSnapshot !== undefined;
    this.join(own ? client : undefined, client, topic, rule, reason);
  }

  /** The renders of one renderer (`owner`'s own, or the rules' when undefined), per topic. */
  private jobs(): TopicJobs<Job> {
    return new TopicJobs<Job>((topic, job, clients) =>
      job.owner === undefined
        ? this.render(topic, job, clients)
        : this.renderOwn(topic, job, clients),
    );
  }

  /** `client` waits for the next render of `owner`'s renderer (undefined: the rule's) of `topic`. */
  private join(
    owner: RepairTarget | undefined,
    client: RepairTarget,
    topic: string,
    rule: TopicRule,
    reason: RepairReason,
  ): void {
    let jobs = this.shared;
    if (owner !== undefined) {
      jobs = this.own.get(owner) ?? this.jobs();
      this.own.set(owner, jobs);
    }
    jobs.join(topic, client, reason, () => ({ waiting: new Map(), busy: false, rule, owner }));
  }

  /** Renders the rule's snapshot of `topic` for `clients`, once the head is known. */
  private render(topic: string, job: Job, clients: Map<RepairTarget, RepairReason>): void {
    const last = this.host.reusable.get(topic, job.rule.snapshotReuseMs);
    if (last !== undefined) {
      this.reuse(topic, job, clients, last);
      return;
    }
    const head = this.host.head;
    // A local topic's events are this process's own: the engine's head says nothing of them.
    if (head === undefined || job.rule.local) {
      this.renderAfter(topic, job, clients, undefined);
      return;
    }
    within(
      head().catch(() => undefined),
      job.rule.snapshotTimeoutMs,
      undefined,
    ).then((at) => this.renderAfter(topic, job, clients, at));
  }

  /** Renders `topic` for `clients`, its render covering the events up to `head`. */
  private renderAfter(
    topic: string,
    job: Job,
    clients: Map<RepairTarget, RepairReason>,
    head: OrderPosition | undefined,
  ): void {
    // Clients that left while the head was read are rendered nothing; with none left, no render.
    for (const client of clients.keys()) if (client.closed) clients.delete(client);
    if (clients.size === 0) {
      this.ended(topic, job);
      return;
    }
    for (const client of clients.keys()) client.repairStarted(topic, clients, head);
    // Never sent again (`snapshotReuseMs: 0`): not kept.
    if (job.rule.snapshotReuseMs > 0) this.host.reusable.started(topic, clients);
    this.run(topic, job, clients, () => job.rule.snapshot!(topic), head);
  }

  /**
   * Sends `clients` the topic's last snapshot (nothing of the topic came
   * since its render started, so it covers what they lost), as if its render
   * started now: events of the topic from now on follow it.
   */
  private reuse(
    topic: string,
    job: Job,
    clients: Map<RepairTarget, RepairReason>,
    last: ReusableSnapshot,
  ): void {
    for (const client of clients.keys()) client.repairStarted(topic, clients, last.head);
    this.handOut(topic, clients, last.frame);
    this.ended(topic, job);
  }

  /**
   * Renders `job`'s client its own snapshot of `topic`. Undefined from its
   * renderer: it joins the rule's next render; when the rule has none, a
   * failure. A client that left by then is rendered nothing.
   */
  private renderOwn(topic: string, job: Job, clients: Map<RepairTarget, RepairReason>): void {
    const { rule } = job;
    const [client, reason] = clients.entries().next().value!;
    if (client.closed) {
      this.ended(topic, job);
      return;
    }
    let call: () => unknown;
    try {
      const html = client.renderSnapshot!(topic);
      if (html === undefined && rule.snapshot !== undefined) {
        this.join(undefined, client, topic, rule, reason);
        this.ended(topic, job);
        return;
      }
      call = () => {
        if (html === undefined) throw new TypeError(NO_FALLBACK);
        return html;
      };
    } catch (error) {
      call = () => {
        throw error;
      };
    }
    client.repairStarted(topic, clients);
    this.run(topic, job, clients, call);
  }

  /**
   * Runs `call`, a render for `clients` (started), and waits for its HTML
   * at most the rule's `snapshotTimeoutMs`; then hands it (or the failure)
   * to them and starts the job's next render, if anyone waits for one. A
   * rule's snapshot is kept for reuse, covering `head`, unless spoiled.
   */
  private run(
    topic: string,
    job: Job,
    clients: Map<RepairTarget, RepairReason>,
    call: () => unknown,
    head?: OrderPosition,
  ): void {
    const { rule } = job;
    const settle = (html: unknown, error?: unknown): void => {
      const own = job.owner !== undefined;
      const frame = this.deliver(topic, rule, clients, html, error, own);
      if (!own) this.host.reusable.ended(topic, clients, frame, head);
      this.ended(topic, job);
    };
    this.host.counters.snapshotRenders++;
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      settle(undefined, error);
      return;
    }
    within(Promise.resolve(result), rule.snapshotTimeoutMs, TIMED_OUT).then(
      (html) =>
        html === TIMED_OUT
          ? settle(undefined, new Error(`did not settle within ${rule.snapshotTimeoutMs} ms`))
          : settle(html),
      (error: unknown) => settle(undefined, error ?? "rejected"),
    );
  }

  /** A render of `job` ended (or was skipped): the next one if a client waits, else it is forgotten. */
  private ended(topic: string, job: Job): void {
    const owner = job.owner;
    const jobs = owner === undefined ? this.shared : this.own.get(owner);
    jobs?.ended(topic, job);
    if (owner !== undefined && jobs?.size === 0) this.own.delete(owner);
  }

  /**
   * One render ended: its frame (encoded once) to each of its clients, or,
   * failed, what they held (`own`: a client's own renderer failed).
   * Returns the frame (undefined: failed).
   */
  private deliver(
    topic: string,
    rule: TopicRule,
    clients: Map<RepairTarget, RepairReason>,
    html: unknown,
    error: unknown,
    own: boolean,
  ): Frame | undefined {
    let frame: Frame | undefined;
    if (error === undefined) {
      try {
        if (typeof html !== "string") {
          // Falling back is decided at the call: a promise of undefined is too late for it.
          const late = own && html === undefined;
          throw new TypeError(
            late ? LATE_FALLBACK : `returned ${typeof html}, not a string of HTML`,
          );
        }
        const target = typeof rule.target === "function" ? rule.target(topic) : rule.target!;
        frame = snapshotFrame(topic, html, target, rule);
      } catch (thrown) {
        error = thrown;
      }
    }
    if (error !== undefined) this.failed(topic, error, own);
    this.handOut(topic, clients, frame);
    return frame;
  }

  /** The render `clients` (they name it) ended: `frame` to each that still waits for it. */
  private handOut(
    topic: string,
    clients: Map<RepairTarget, RepairReason>,
    frame: Frame | undefined,
  ): void {
    for (const [client, reason] of clients) {
      if (client.repaired(topic, frame, clients)) this.host.sent(client, topic, reason);
    }
  }

  private failed(topic: string, error: unknown, own: boolean): void {
    this.host.counters.snapshotFailures++;
    if (this.warned) return;
    this.warned = true;
    const why = error instanceof Error ? error.message : String(error);
    const whose = own ? " (rendered by a handler's snapshot option)" : "";
    warn(
      `sse: the snapshot of topic ${JSON.stringify(topic)}${whose} failed (${why}); its clients got the ` +
        "events held meanwhile, and their region may stay behind until they reconnect. " +
        "(Warned once per broker; stats().snapshotFailures counts every failure.)",
      "SSE_SNAPSHOT_FAILED",
    );
  }
}
