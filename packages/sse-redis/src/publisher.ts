/**
 * Publishing from this process: each publish sent to Redis once (the
 * publishes of one tick go out together, a run of one topic's events in one
 * script call), as many unanswered as the kit's `PendingBound` admits
 * (`maxPending` while Redis does not answer; past it, delivered here only,
 * and a gap marker per topic sent once it answers again), one whose answer
 * is lost delivered here and not a second time when its echo comes, and the
 * round trip of each one that comes back. Internal.
 */
import { randomBytes } from "node:crypto";
import type { SSEEvent } from "@burrow/sse-core";
import { formatOrigin, ownNonce, PendingBound, RecentPublishes } from "@burrow/sse-core/adapter";
import { topicKeys, type WireMessage } from "./codec.js";
import type { BackplaneLogger } from "./options.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Most own publishes remembered for their echo (delivered here already, or
 * timed): a process may never receive what it publishes (it does not watch
 * the topic), so nothing else prunes them.
 */
const MAX_REMEMBERED = 10_000;

/**
 * Most events, and most JSON characters, in one script call (at least one
 * event): few calls for a burst, and no call that holds Redis (which runs
 * one script at a time) for long.
 */
const MAX_CALL_EVENTS = 200;
const MAX_CALL_CHARS = 512 * 1024;

/** A publish (or a gap marker) waiting for its script call. */
interface Queued {
  target: PublishTarget;
  topic: string;
  event: SSEEvent;
  /** The event's JSON; "" for a gap marker. */
  json: string;
  /** Its publish number; 0 for a gap marker. */
  nonce: number;
}

/** What the {@link Publisher} needs around it. */
export interface PublisherHooks {
  /** Hands an event to this process's clients only (seq 0). */
  deliverHere(topic: string, event: SSEEvent): void;
  /** A publish failed with `error` (whether Redis ran it is unknown). */
  failed(error: Error): void;
  /** An own publish came back from Redis, `seconds` after it was sent. */
  roundTrip(seconds: number): void;
}

/** What {@link Publisher.send} sends through. */
export interface PublishTarget {
  /** The link's command connection (ready). */
  command: ScriptedRedis;
  /** The backplane's key prefix. */
  prefix: string;
  /** The key prefix of `topic`, when it is not {@link prefix} (a Redis Cluster's order groups). */
  prefixOf?: ((topic: string) => string) | undefined;
  /** The broker's `historySize`: the stream's cap, and whether ids are assigned. */
  historySize: number;
  /** Whether this process will receive the event back (it is subscribed to the topic now). */
  echoed: boolean;
}

/** This process's publishes and their bookkeeping. Internal. */
export class Publisher {
  /** Random, per process: tells this process's publishes apart, and seeds a new epoch. */
  readonly origin = randomBytes(6).toString("hex");
  /** Events sent to Redis, ever. */
  published = 0;
  /** Events delivered here only while the link was not ready, ever. */
  localOnly = 0;
  /** The same, since the link last went down. */
  localOnlySinceDown = 0;
  /** Events delivered here only because `maxPending` were unanswered and Redis did not answer, ever. */
  overflow = 0;
  private overflowReported = false;
  private nonce = 0;
  private closed = false;
  private readonly bound: PendingBound;
  /** Publishes of this tick, sent together at its end. */
  private queue: Queued[] = [];
  private scheduled = false;
  /** Topics whose events overflowed: a gap marker each is owed. */
  private readonly dropped = new Set<string>();
  /** Sent to Redis, and neither its answer nor its echo has come yet. */
  private readonly inFlight = new Set<number>();
  /** Failed and delivered here instead: not delivered twice if its echo comes. */
  private readonly deliveredHere = new RecentPublishes<true>(MAX_REMEMBERED);
  /** When each publish whose echo is awaited was sent (`performance.now()`), in send order. */
  private readonly sentAt = new RecentPublishes<number>(MAX_REMEMBERED);

  constructor(
    private readonly options: {
      maxPending: number;
      /** How often unanswered publishes are checked for a hung Redis (see `PendingBound`). */
      checkMs: number;
      logger: BackplaneLogger | undefined;
      safeUrl: string;
    },
    private readonly hooks: PublisherHooks,
  ) {
    this.bound = new PendingBound(options.maxPending, options.checkMs, () => this.inFlight.size);
  }

  /** Publishes sent to Redis and not answered yet, now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** A fresh epoch, used by the scripts only when Redis has none (empty or restarted). */
  newEpoch(): string {
    return `${Date.now().toString(36)}${this.origin.slice(0, 4)}`;
  }

  /**
   * Sends `event` to Redis (at the end of this tick), to be ordered and
   * echoed; when the bound admits no more (see `PendingBound`), delivers it
   * here only instead, and owes the other processes a gap marker for `topic`.
   */
  send(target: PublishTarget, topic: string, event: SSEEvent): void {
    if (!this.bound.admits()) {
      this.overflowed(topic, event);
      return;
    }
    const nonce = ++this.nonce;
    this.published++;
    this.inFlight.add(nonce);
    if (target.echoed) this.sentAt.set(nonce, performance.now());
    this.enqueue({ target, topic, event, json: JSON.stringify(event), nonce });
  }

  /** Sends a gap marker for each topic whose events overflowed, if any, through `target`. */
  sendGaps(target: PublishTarget): void {
    for (const topic of this.dropped)
      this.enqueue({ target, topic, event: {}, json: "", nonce: 0 });
    this.dropped.clear();
  }

  private enqueue(queued: Queued): void {
    this.queue.push(queued);
    this.bound.waiting();
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /**
   * Sends what this tick queued, now: each run of one topic's events (same
   * target) in one call. A read sent after it on the connection sees them.
   */
  flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (this.closed) return;
    let start = 0;
    while (start < queue.length) {
      const first = queue[start]!;
      let end = start + 1;
      let chars = first.json.length;
      while (end < queue.length && end - start < MAX_CALL_EVENTS) {
        const next = queue[end]!;
        chars += next.json.length;
        const same =
          next.topic === first.topic &&
          next.target.command === first.target.command &&
          next.target.historySize === first.target.historySize;
        if (!same || chars > MAX_CALL_CHARS) break;
        end++;
      }
      this.call(queue.slice(start, end));
      start = end;
    }
  }

  private call(run: readonly Queued[]): void {
    const { target, topic } = run[0]!;
    const keys = topicKeys(target.prefixOf?.(topic) ?? target.prefix, topic);
    const events: string[] = [];
    for (const { json, nonce } of run) events.push(json, formatOrigin(this.origin, nonce));
    target.command
      .ssePublish(
        keys.meta,
        keys.evicted,
        keys.stream,
        keys.channel,
        topic,
        target.historySize,
        this.newEpoch(),
        target.historySize > 0 ? "1" : "0",
        ...events,
      )
      .then(
        () => {
          this.bound.answered();
          for (const { nonce } of run) if (nonce > 0) this.inFlight.delete(nonce);
          // Redis answers again: the other processes learn of what overflowed meanwhile.
          if (this.dropped.size > 0 && !this.closed) this.sendGaps(target);
        },
        (error: Error) => {
          if (this.closed) return;
          let failed = false;
          for (const { topic, event, nonce } of run) {
            // A marker: whether it reached the others is unknown, so it is owed again (twice only repairs twice).
            if (nonce === 0) {
              this.dropped.add(topic);
              continue;
            }
            // Its echo came already: Redis ran it, and it was delivered here.
            if (!this.inFlight.delete(nonce)) continue;
            // Whether Redis ran it is unknown: deliver it here, and not again if its echo comes.
            this.sentAt.delete(nonce);
            this.deliveredHere.set(nonce, true);
            this.deliverHere(topic, event);
            failed = true;
          }
          if (failed) this.hooks.failed(error);
        },
      );
  }

  /** Whether a message through Redis needs no delivery here: an own publish delivered already, an own gap marker. */
  delivered(message: WireMessage): boolean {
    if (message.gap) return ownNonce(message.origin, this.origin) !== undefined;
    return this.echo(message.origin);
  }

  /** Delivers `event` here only: the link is not ready. */
  deliverHere(topic: string, event: SSEEvent): void {
    this.localOnly++;
    this.localOnlySinceDown++;
    this.hooks.deliverHere(topic, { ...event });
  }

  /**
   * For an event seen through Redis (live or recovered), published by
   * `origin`: whether this process published it and delivered it here
   * already (its answer was lost). An own event coming back reports its
   * round trip.
   */
  echo(origin: string): boolean {
    const nonce = ownNonce(origin, this.origin);
    if (nonce === undefined) return false;
    this.inFlight.delete(nonce);
    // Round trips only: an older echo coming after this one is not timed.
    const sent = this.sentAt.take(nonce, true);
    if (sent !== undefined) this.hooks.roundTrip((performance.now() - sent) / 1000);
    // Not pruned by order: a stopped Redis may run a command of a dropped socket after one of
    // the new socket, so an older echo can still come (the memory is capped).
    return this.deliveredHere.size > 0 && this.deliveredHere.delete(nonce);
  }

  /** The link went down: counts what is delivered here only from now. */
  down(): void {
    this.localOnlySinceDown = 0;
  }

  /**
   * The link is ready: the next `maxPending` overflow is logged again, and
   * the gap markers owed are sent through `target`.
   */
  ready(target: PublishTarget): void {
    this.overflowReported = false;
    this.sendGaps(target);
  }

  /** Settles nothing more: what is in flight is neither delivered nor reported. */
  close(): void {
    this.closed = true;
    this.bound.stop();
  }

  /** A publish past the bound: delivered here only, counted, logged once per ready spell, a gap owed. */
  private overflowed(topic: string, event: SSEEvent): void {
    this.overflow++;
    this.dropped.add(topic);
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.options.logger?.error(
        `sse-redis: ${this.options.maxPending} publishes or more to Redis at ${this.options.safeUrl} are unanswered, and it does not answer (maxPending); until it answers, further events published on this process reach its own clients only, and the other processes are told of the gap once it does`,
      );
    }
    this.hooks.deliverHere(topic, { ...event });
  }
}
