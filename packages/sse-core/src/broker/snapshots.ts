import { warn } from "../base/warn.js";
import type { RepairHost, RepairTarget } from "../delivery/repairs.js";
import { encodeValid } from "../wire/encode.js";
import { type Frame, toBytes } from "../wire/frame.js";
import { snapshotFrame } from "../wire/snapshot-frame.js";
import type { RepairReason, TopicRule } from "../wire/topic-policy.js";
import type { BrokerCounters } from "./broker-stats.js";
import type { History } from "./history.js";
import type { Observers } from "./observer.js";
import type { TopicRules } from "./topic-rules.js";

/** Why a client's own render fails when its renderer returns undefined and the rule has no snapshot. */
const NO_FALLBACK =
  "returned undefined, and the topic's policy in the broker's topics option has no snapshot " +
  "to fall back to: return the region's HTML, or give the policy a snapshot";

/** Why a client's own render fails when its renderer's promise resolves to undefined. */
const LATE_FALLBACK =
  "resolved to undefined, not a string of HTML: to fall back to the policy's snapshot, " +
  "return undefined itself, not a promise of it";

/**
 * The renders of one snapshot, at most one at a time: of a topic's rule (for
 * every client waiting when it starts), or of one client's own renderer
 * (for that client alone).
 */
interface Job {
  /** Clients waiting for the next render, each with why. */
  waiting: Map<RepairTarget, RepairReason>;
  /** True while the next render is queued (a microtask), or one runs. */
  busy: boolean;
  /** The client whose own renderer it calls; undefined: the rule's, shared. */
  readonly owner: RepairTarget | undefined;
}

/**
 * What repairs a broker's clients: a state topic's latest event (kept here,
 * one per topic), or a log topic's snapshot, rendered by the app at most
 * once at a time per topic, for every client waiting when it starts (so a
 * burst that overflows a thousand clients renders it once), and encoded
 * once. A client that asks while a render runs waits for the next one: the
 * running one may miss events it already lost. A client with a renderer of
 * its own (a handler's `snapshot`, bound to its request) is rendered for
 * alone, at most once at a time per topic, on the same terms; when its
 * renderer returns undefined, it joins the rule's. Counts what it sends, by
 * reason. @internal
 */
export class Snapshots implements RepairHost {
  private readonly latest = new Map<string, Frame>();
  /** Renders of the rules' snapshots, per topic. */
  private readonly shared = new Map<string, Job>();
  /** Renders of clients' own snapshots, per client and topic. */
  private readonly own = new Map<RepairTarget, Map<string, Job>>();
  /** Frames given an id of a client's position, per frame and position. */
  private readonly stamped = new WeakMap<Frame, Map<number, Frame>>();
  private warned = false;

  constructor(
    private readonly history: History | undefined,
    private readonly rules: TopicRules,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
  ) {}

  /** Keeps `frame` when it is a state topic's: the latest event of its topic. */
  record(frame: Frame): void {
    if (frame.rule?.kind === "state") this.latest.set(frame.topic, frame);
  }

  position(): number | undefined {
    return this.history?.latest;
  }

  stamp(frame: Frame, cursor: number | undefined): Frame {
    const history = this.history;
    if (history === undefined || cursor === undefined) return frame;
    const id = history.repairIdFor(cursor);
    if (frame.event.id === id) return frame;
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
    const latest = rule?.kind === "state" ? this.latest.get(topic) : undefined;
    if (latest === undefined && rule?.target !== undefined && client.renderSnapshot) {
      this.join(client, client, topic, rule, reason);
      return;
    }
    if (latest !== undefined || rule?.snapshot === undefined) {
      // A state topic's latest event, at once (none: nothing is known of it, and no snapshot).
      const render = {};
      client.repairStarted(topic, render);
      if (client.repaired(topic, latest, render)) this.sent(client, topic, reason);
      return;
    }
    this.join(undefined, client, topic, rule, reason);
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
      jobs = this.own.get(owner) ?? new Map();
      this.own.set(owner, jobs);
    }
    let job = jobs.get(topic);
    if (job === undefined) {
      job = { waiting: new Map(), busy: false, owner };
      jobs.set(topic, job);
    }
    job.waiting.set(client, reason);
    if (!job.busy) this.queue(topic, rule, job);
  }

  /** Starts the next render of `topic` at the end of this tick (every client asking by then joins it). */
  private queue(topic: string, rule: TopicRule, job: Job): void {
    job.busy = true;
    queueMicrotask(() =>
      job.owner === undefined ? this.render(topic, rule, job) : this.renderOwn(topic, rule, job),
    );
  }

  private render(topic: string, rule: TopicRule, job: Job): void {
    const clients = job.waiting;
    job.waiting = new Map();
    for (const client of clients.keys()) client.repairStarted(topic, clients);
    this.run(topic, rule, job, clients, () => rule.snapshot!(topic));
  }

  /**
   * Renders `job`'s client its own snapshot of `topic`. Undefined from its
   * renderer: it joins the rule's next render; when the rule has none, a
   * failure. A client that left by then is rendered nothing.
   */
  private renderOwn(topic: string, rule: TopicRule, job: Job): void {
    const clients = job.waiting;
    job.waiting = new Map();
    const [client, reason] = clients.entries().next().value!;
    if (client.closed) {
      this.ended(topic, rule, job);
      return;
    }
    let call: () => unknown;
    try {
      const html = client.renderSnapshot!(topic);
      if (html === undefined && rule.snapshot !== undefined) {
        this.join(undefined, client, topic, rule, reason);
        this.ended(topic, rule, job);
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
    this.run(topic, rule, job, clients, call);
  }

  /**
   * Runs `call`, a render for `clients` (started), and waits for its HTML
   * at most the rule's `snapshotTimeoutMs`; then hands it (or the failure)
   * to them and starts the job's next render, if anyone waits for one.
   */
  private run(
    topic: string,
    rule: TopicRule,
    job: Job,
    clients: Map<RepairTarget, RepairReason>,
    call: () => unknown,
  ): void {
    let settled = false;
    const settle = (html: unknown, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.deliver(topic, rule, clients, html, error, job.owner !== undefined);
      this.ended(topic, rule, job);
    };
    const timer = setTimeout(
      () => settle(undefined, new Error(`did not settle within ${rule.snapshotTimeoutMs} ms`)),
      rule.snapshotTimeoutMs,
    );
    timer.unref?.();
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      settle(undefined, error);
      return;
    }
    Promise.resolve(result).then(settle, (error: unknown) =>
      settle(undefined, error ?? "rejected"),
    );
  }

  /** A render of `job` ended (or was skipped): the next one if a client waits, else it is forgotten. */
  private ended(topic: string, rule: TopicRule, job: Job): void {
    if (job.waiting.size > 0) {
      this.queue(topic, rule, job);
      return;
    }
    job.busy = false;
    const owner = job.owner;
    if (owner === undefined) {
      this.shared.delete(topic);
      return;
    }
    const jobs = this.own.get(owner);
    jobs?.delete(topic);
    if (jobs?.size === 0) this.own.delete(owner);
  }

  /**
   * One render ended: its frame (encoded once) to each of its clients, or,
   * failed, what they held (`own`: a client's own renderer failed).
   */
  private deliver(
    topic: string,
    rule: TopicRule,
    clients: Map<RepairTarget, RepairReason>,
    html: unknown,
    error: unknown,
    own: boolean,
  ): void {
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
    for (const [client, reason] of clients) {
      if (client.repaired(topic, frame, clients)) this.sent(client, topic, reason);
    }
  }

  private sent(client: RepairTarget, topic: string, reason: RepairReason): void {
    this.counters.snapshots[reason]++;
    this.observers.notify("snapshot", client, { topic, reason });
  }

  private failed(topic: string, error: unknown, own: boolean): void {
    this.counters.snapshotFailures++;
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
