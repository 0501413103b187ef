import type { Backplane, BackplaneReplay } from "../backplane/backplane.js";
import { parseEventId } from "../backplane/event-id.js";
import { ABORTED } from "../base/abort-reason.js";
import type { Client } from "../delivery/client.js";
import { type HistorySource, type KeptPart, Resume } from "../delivery/resume.js";
import type { Subscription } from "../delivery/subscription.js";
import { type Frame, frameOf, receivedFrame } from "../wire/frame.js";
import type { RepairReason } from "../wire/topic-policy.js";
import type { ResolvedBrokerOptions, SubscribeOptions } from "./broker-options.js";
import type { BrokerCounters } from "./broker-stats.js";
import { History } from "./history.js";
import type { LocalPublish } from "./local-publish.js";
import { LocalTopics } from "./local-topics.js";
import type { Observers } from "./observer.js";
import { planOf } from "./resume-plan.js";
import type { TopicRules } from "./topic-rules.js";

/**
 * Where each client of one broker that subscribes with a `lastEventId`
 * starts: local history (resolved at once), or its backplane's replay
 * (awaited while live events are held, the overlap removed by seq); and,
 * for a topic that cannot be resumed exactly, a repair (its snapshot, or a
 * state topic's latest event). Counts each resume and each miss, and tells
 * the observers. @internal
 */
export class Resumes {
  /** Where a client resuming from local history reads it. */
  private readonly source: HistorySource = {
    after: (topics, cursor, limit) =>
      this.history?.after(topics, cursor, limit) ?? { frames: [], gap: false },
    gap: (client, topics) => {
      const subscription = client as Subscription;
      const repaired = topics.filter((topic) => subscription.repairable(this.rules.of(topic)));
      for (const topic of repaired) subscription.repair(topic, "miss");
      const lost = repaired.length < topics.length;
      return { repaired, tell: this.missed(client, lost) };
    },
  };

  /** The backplane whose history a client resumes from (none with `historySize` 0). */
  private readonly backplane: Backplane | undefined;
  /** Live events a client awaiting its replay may hold. */
  private readonly room: number;
  /** What a client whose resume cannot be gap-free is sent first, if anything. */
  private readonly missFrame: Frame | undefined;

  /** Local history (with a backplane, of its local topics only; none with `historySize` 0). */
  private readonly history: History | undefined;
  /** With a backplane: the topics kept on this process, and their ids. */
  private readonly kept: LocalTopics | undefined;
  /**
   * The frame of each replayed event a backplane answered: the resumes that
   * shared a read get the same event objects, so each is framed (and its
   * bytes encoded) once for all of them, as live events are.
   */
  private readonly framed = new WeakMap<object, Frame>();
  private readonly rules: TopicRules;

  /** @param local - the owner of local history and of the topics' rules. */
  constructor(
    options: ResolvedBrokerOptions,
    local: Pick<LocalPublish, "history" | "rules" | "kept">,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
  ) {
    this.kept = local.kept;
    this.history = local.history ?? local.kept?.history;
    this.rules = local.rules;
    this.backplane = options.historySize > 0 ? options.backplane : undefined;
    this.room = Math.max(options.bufferSize, options.historySize);
    const miss = options.resumeMissEvent;
    this.missFrame = miss === undefined ? undefined : frameOf("", miss, 0);
  }

  /**
   * Where `client` starts, before it joins its topics: from local history
   * after its `lastEventId`; without one, with its snapshots when asked
   * (`snapshot`, a handler's `snapshotOnConnect`).
   */
  start(client: Subscription, options: SubscribeOptions): void {
    const id = options.lastEventId;
    if (!id) {
      if (options.snapshot === true) this.fromNothing(client);
    } else if (this.kept === undefined) this.fromHistory(client, id);
    else if (this.kept.of(client.topics).length === client.topics.length) {
      // Local topics only, on a backplane: from this process's history.
      this.fromHistory(client, LocalTopics.split(id).local ?? "");
    }
  }

  /**
   * Resumes `client` from local history after `lastEventId` (before it
   * joins its topics): each topic replayed exactly when history has every
   * event of it since; else repaired when it can be; else the client is
   * told of a miss, and (as without topic rules) nothing is replayed.
   */
  fromHistory(client: Subscription, lastEventId: string): void {
    const history = this.history;
    if (history === undefined) return;
    const seq = history.seqOf(lastEventId, client.topics);
    // The id of a client that had a repair outstanding: its topics that can be repaired are again.
    const marked = seq !== undefined && History.marksRepair(lastEventId);
    const { plan, gaps } = planOf(this.rules, client, client.topics, history, seq, marked);
    const reason: RepairReason =
      seq === undefined && history.otherEpoch(lastEventId) ? "restart" : "miss";
    for (const topic of plan.repaired) client.repair(topic, reason);
    if (plan.lost.length > 0 || seq === undefined) {
      // As without topic rules: a miss, and nothing replayed.
      const miss = this.missed(client, plan.lost.length > 0);
      if (miss !== undefined) client.prepend(miss);
      return;
    }
    if (gaps > 0) this.missed(client, false);
    else {
      this.counters.resumed++;
      this.observers.notify("resumed", client, false);
    }
    const all = plan.exact.length === client.topics.length;
    client.resumeWith(
      Resume.fromHistory(this.source, client, seq, all ? client.topics : plan.exact),
    );
  }

  /** Starts `client`, which gave no id, with a repair of each of its topics that can be repaired. */
  fromNothing(client: Subscription): void {
    for (const topic of this.repairableOf(client)) client.repair(topic, "connect");
  }

  /** The topics of `client` that can be repaired for it (see {@link Subscription.repairable}). */
  private repairableOf(client: Subscription): string[] {
    return client.topics.filter((topic) => client.repairable(this.rules.of(topic)));
  }

  /**
   * Resumes `client` from the backplane's history (once it watches its
   * topics, so that the replay overlaps live deliveries instead of leaving
   * a hole): live events are held meanwhile, and the overlap is removed by
   * seq. When the replay cannot be had, the topics that can be repaired are.
   */
  fromBackplane(client: Subscription, lastEventId: string): void {
    const backplane = this.backplane;
    if (backplane === undefined) return;
    let topics = client.topics;
    let kept: KeptPart | undefined;
    if (this.kept !== undefined) {
      const local = this.kept.of(topics);
      if (local.length === topics.length) return; // resumed from this process's history
      const split = LocalTopics.split(lastEventId);
      lastEventId = split.backplane ?? "";
      // One memoized rule lookup per topic, not a scan of `local` per topic.
      topics = topics.filter((topic) => !this.rules.local(topic));
      kept = this.keptPart(client, local, split.local, lastEventId);
    }
    // The id of a client that had a repair outstanding: resumed from its position, and its
    // log topics that can be repaired are repaired again.
    const marked = History.marksRepair(lastEventId);
    const from = marked ? lastEventId.slice(0, -1) : lastEventId;
    client.resumeWith(Resume.awaiting(this.room, kept));
    // Held only until it leaves: a backplane slow to answer (or that never does) keeps
    // nothing of a client that is gone.
    let waiting: Subscription | undefined = client;
    const settle = (replay: BackplaneReplay | undefined): void => {
      const resuming = waiting;
      waiting = undefined;
      if (resuming !== undefined && !resuming.closed) this.replayed(resuming, from, marked, replay);
    };
    // Aborted when the client leaves: the backplane then reads nothing for it.
    const left = new AbortController();
    void client.done.then(() => {
      waiting = undefined;
      left.abort(ABORTED);
    });
    let read: Promise<BackplaneReplay | undefined>;
    try {
      // No position in the backplane's order (a local event published before it knew one): a miss.
      read = from === "" ? Promise.resolve(undefined) : backplane.replay(topics, from, left.signal);
    } catch (err) {
      // A backplane that throws instead of rejecting: a miss too, never the request's failure.
      read = Promise.reject(err);
    }
    read.then(settle, () => settle(undefined));
  }

  /**
   * The part of `client`'s backplane resume that its `local` topics take
   * from this process's history after `localId` (none: a miss, repaired
   * or told, as {@link Resumes.fromHistory} would), written after the
   * replay; `backplaneId` gives the epoch of the ids they are sent with.
   */
  private keptPart(
    client: Subscription,
    local: readonly string[],
    localId: string | undefined,
    backplaneId: string,
  ): KeptPart {
    const history = this.kept!.history;
    const epoch = parseEventId(backplaneId)?.epoch;
    const part = {
      frames: [] as Frame[],
      after: (f: Frame, seq: number) => LocalTopics.after(f, seq, epoch),
    };
    if (local.length === 0) return part;
    const seq = localId === undefined ? undefined : history.seqOf(localId, local);
    const { plan, gaps } = planOf(this.rules, client, local, history, seq, false);
    for (const topic of plan.repaired) client.repair(topic, "miss");
    if (plan.lost.length > 0 || seq === undefined) {
      const miss = this.missed(client, plan.lost.length > 0);
      if (miss !== undefined) client.prepend(miss);
    } else {
      if (gaps > 0) this.missed(client, false);
      part.frames = history.after(plan.exact, seq, Number.POSITIVE_INFINITY).frames;
    }
    return part;
  }

  /**
   * The backplane answered `client`'s resume from `from` (`marked`: a repair
   * id): its replay is written first, then the live events held meanwhile;
   * no replay (`undefined`) is a miss: what can be repaired is, and the
   * client is told of the rest.
   */
  private replayed(
    client: Subscription,
    from: string,
    marked: boolean,
    replay: BackplaneReplay | undefined,
  ): void {
    if (replay === undefined) {
      // What the page shows up to its id may still arrive (read back after a cut): skipped.
      const shown = parseEventId(from);
      if (shown !== undefined) client.skipTo(client.topics, shown);
      const repaired = this.repairableOf(client);
      for (const topic of repaired) client.repair(topic, "miss");
      const miss = this.missed(client, repaired.length < client.topics.length);
      if (miss !== undefined) client.prepend(miss);
      client.replayed([], 0);
      return;
    }
    this.counters.resumed++;
    this.observers.notify("resumed", client, false);
    const repaired = marked ? this.repairableOf(client) : [];
    for (const topic of repaired) client.repair(topic, "miss");
    const frames: Frame[] = [];
    for (const replayed of replay.events) {
      const { topic, event, seq } = replayed;
      if (repaired.includes(topic)) continue;
      let frame = this.framed.get(replayed);
      if (frame === undefined) {
        try {
          frame = receivedFrame(topic, event, seq, this.rules.of(topic));
        } catch {
          // Not encodable (not written by a broker): skipped, as live delivery would.
          continue;
        }
        this.framed.set(replayed, frame);
      }
      frames.push(frame);
    }
    client.replayed(frames, replay.after);
  }

  /**
   * A resume that cannot be gap-free: counted, observed; returns the frame
   * that tells the client, if any (`tell`: some topic is neither resumed
   * nor repaired).
   */
  missed(client: Client, tell = true): Frame | undefined {
    this.counters.resumeMisses++;
    this.observers.notify("resumed", client, true);
    return tell ? this.missFrame : undefined;
  }
}
