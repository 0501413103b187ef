import type { Backplane, BackplaneEvent } from "../backplane/backplane.js";
import { parseEventId } from "../backplane/event-id.js";
import { ABORTED } from "../base/abort-reason.js";
import { within } from "../base/within.js";
import type { RepairTarget } from "../delivery/repairs.js";
import type { OrderPosition } from "../delivery/shown-events.js";
import { type Frame, receivedFrame } from "../wire/frame.js";
import type { RepairReason, TopicRule } from "../wire/topic-policy.js";
import { TopicJobs, type TopicLine } from "./topic-jobs.js";

/** The fetches of one state topic's latest event: at most one at a time. */
interface Fetch extends TopicLine {
  readonly rule: TopicRule;
  /** The topic's latest was forgotten while the fetch ran (unwatched, events lost): not kept. */
  stale: boolean;
}

/** What {@link LastValues} works with: the broker's snapshots. @internal */
export interface LastValuesHost {
  /** The latest event of `topic` this broker knows, if any. */
  known(topic: string): Frame | undefined;
  /** Keeps `frame` as its topic's latest event (it is newer than any known). */
  keep(frame: Frame): void;
  /** The engine gave nothing newer: `client`'s repair goes on as without a backplane (a snapshot, or nothing). */
  fallBack(client: RepairTarget, topic: string, reason: RepairReason): void;
  /** `frame` was queued for `client`: counted and observed. */
  sent(client: RepairTarget, topic: string, reason: RepairReason): void;
}

/**
 * On a backplane: the current value of a state topic this broker knows
 * none of (it did not watch the topic), read from the engine
 * ({@link Backplane.last}) at most once at a time per topic, for every
 * client waiting when the read starts, bounded by the topic's
 * `snapshotTimeoutMs`, and encoded once. Like a snapshot's render: while
 * it runs, its clients write nothing and their live events of the topic
 * are covered (this broker records them); it ends with the newest of what
 * the engine gave and what arrived meanwhile, whose late copies the
 * clients then skip. Nothing from either: the topic's snapshot, if any.
 * A read whose clients all left is stopped (its signal aborts) at once.
 * @internal
 */
export class LastValues {
  private readonly fetches = new TopicJobs<Fetch>((topic, fetch, clients) =>
    this.run(topic, fetch, clients),
  );
  /** Watched topics whose read gave nothing, with no snapshot: read again once the link is back. */
  private readonly unanswered = new Set<string>();

  constructor(
    private readonly backplane: Backplane,
    private readonly host: LastValuesHost,
  ) {}

  /** `client` needs `topic`'s latest event, which this broker does not know. */
  request(client: RepairTarget, topic: string, rule: TopicRule, reason: RepairReason): void {
    this.fetches.join(topic, client, reason, () => ({
      rule,
      waiting: new Map(),
      busy: false,
      stale: false,
    }));
  }

  /** `topic`'s latest was forgotten: what a fetch running now gives is not kept. */
  forget(topic: string): void {
    this.unanswered.delete(topic);
    const fetch = this.fetches.get(topic);
    if (fetch !== undefined) fetch.stale = true;
  }

  /** An event of `topic` arrived: its clients have a value. */
  answered(topic: string): void {
    if (this.unanswered.size > 0) this.unanswered.delete(topic);
  }

  /**
   * The topics whose read gave nothing (the link may have been down) and
   * that nothing repaired since, forgotten here: their clients are to be
   * repaired again now that the link is back.
   */
  takeUnanswered(): string[] {
    const topics = [...this.unanswered];
    this.unanswered.clear();
    return topics;
  }

  /** Reads `topic`'s latest event for `clients`, unless it became known meanwhile. */
  private run(topic: string, fetch: Fetch, clients: Map<RepairTarget, RepairReason>): void {
    const { rule } = fetch;
    fetch.stale = false;
    if (this.host.known(topic) !== undefined) {
      // A fetch that just ended kept it, or an event of the topic arrived: no read.
      this.end(topic, rule, fetch, clients, undefined);
      return;
    }
    const stop = new AbortController();
    this.stopWhenLeft(clients, stop);
    let read: Promise<BackplaneEvent | undefined>;
    try {
      read = Promise.resolve(this.backplane.last?.(topic, stop.signal));
    } catch {
      read = Promise.resolve(undefined);
    }
    within(read, rule.snapshotTimeoutMs, undefined)
      .catch(() => undefined)
      .then((event) => {
        stop.abort(ABORTED);
        this.end(topic, rule, fetch, clients, event);
      });
  }

  /**
   * Aborts `stop` once every one of `clients` has left: the backplane then
   * stops reading for them (a hung engine keeps nothing for clients that are
   * gone until the topic's `snapshotTimeoutMs`), and the topic's next fetch
   * can start. What the read gives then is not kept (no client watches it).
   */
  private stopWhenLeft(clients: Map<RepairTarget, RepairReason>, stop: AbortController): void {
    let staying = clients.size;
    const left = (): void => {
      if (--staying === 0) stop.abort(ABORTED);
    };
    for (const client of clients.keys()) void client.done.then(left);
  }

  /** A fetch ended with `event` (if any): the newest value known goes to each of its clients. */
  private end(
    topic: string,
    rule: TopicRule,
    fetch: Fetch,
    clients: Map<RepairTarget, RepairReason>,
    event: BackplaneEvent | undefined,
  ): void {
    const fetched = frameOf(topic, event, rule);
    const known = this.host.known(topic);
    // Kept only while some client still holds the topic watched, as it was throughout.
    const watched = [...clients.keys()].some((client) => !client.closed);
    if (fetched !== undefined && newer(fetched, known) && watched && !fetch.stale) {
      this.host.keep(fetched);
    }
    const frame = fetched !== undefined && newer(fetched, known) ? fetched : known;
    if (frame === undefined && rule.snapshot === undefined && watched) this.unanswered.add(topic);
    const shown = frame === undefined ? undefined : positionOf(frame);
    for (const [client, reason] of clients) {
      if (frame === undefined) {
        this.host.fallBack(client, topic, reason);
        continue;
      }
      // Events of the topic from now on follow it; late copies of those it covers are skipped.
      const render = {};
      client.repairStarted(topic, render, shown);
      if (client.repaired(topic, frame, render)) this.host.sent(client, topic, reason);
    }
    this.fetches.ended(topic, fetch);
  }
}

/**
 * `event`'s frame (validated, encoded once); undefined for none, or for
 * anything a backplane gave that is not an event of the order.
 */
function frameOf(
  topic: string,
  event: BackplaneEvent | undefined,
  rule: TopicRule,
): Frame | undefined {
  try {
    const { seq, event: given } = event ?? {};
    if (!Number.isSafeInteger(seq) || seq! < 1 || typeof given !== "object" || given === null) {
      return undefined;
    }
    return receivedFrame(topic, { ...given }, seq!, rule);
  } catch {
    return undefined;
  }
}

/**
 * Whether `fetched` is newer than `known`: by seq; an event known here with
 * seq 0 (published here while the engine was unreachable) arrived after the
 * fetch began, so it is newer.
 */
function newer(fetched: Frame, known: Frame | undefined): boolean {
  return known === undefined || (known.seq > 0 && known.seq < fetched.seq);
}

/** Where `frame` stands in the backplane's order, when its id tells (`<epoch>-<seq>`). */
function positionOf(frame: Frame): OrderPosition | undefined {
  const id = frame.event.id;
  const position = id === undefined ? undefined : parseEventId(id);
  return position?.seq === frame.seq ? position : undefined;
}
