/**
 * Publishing from this process: each publish sent to Redis once, at most
 * `maxPending` unanswered (past it, delivered here only), one whose answer is
 * lost delivered here and not a second time when its echo comes, and the
 * round trip of each one that comes back. Internal.
 */
import { randomBytes } from "node:crypto";
import type { SSEEvent } from "@burrow/sse-core";
import { formatOrigin, ownNonce } from "@burrow/sse-core/adapter";
import { topicKeys } from "./codec.js";
import type { BackplaneLogger } from "./options.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Most own publishes remembered for their echo (delivered here already, or
 * timed): a process may never receive what it publishes (it does not watch
 * the topic), so nothing else prunes them.
 */
const MAX_REMEMBERED = 10_000;

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
  /** Events delivered here only because `maxPending` were unanswered, ever. */
  overflow = 0;
  private overflowReported = false;
  private nonce = 0;
  private closed = false;
  /** Sent to Redis, and neither its answer nor its echo has come yet. */
  private readonly inFlight = new Set<number>();
  /** Failed and delivered here instead: not delivered twice if its echo comes. */
  private readonly deliveredHere = new Set<number>();
  /** When each publish whose echo is awaited was sent (`performance.now()`), in send order. */
  private readonly sentAt = new Map<number, number>();

  constructor(
    private readonly options: {
      maxPending: number;
      logger: BackplaneLogger | undefined;
      safeUrl: string;
    },
    private readonly hooks: PublisherHooks,
  ) {}

  /** Publishes sent to Redis and not answered yet, now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** A fresh epoch, used by the scripts only when Redis has none (empty or restarted). */
  newEpoch(): string {
    return `${Date.now().toString(36)}${this.origin.slice(0, 4)}`;
  }

  /**
   * Sends `event` to Redis, to be ordered and echoed; past `maxPending`
   * unanswered, delivers it here only instead.
   */
  send(target: PublishTarget, topic: string, event: SSEEvent): void {
    if (this.inFlight.size >= this.options.maxPending) {
      this.overflowed(topic, event);
      return;
    }
    const nonce = ++this.nonce;
    const keys = topicKeys(target.prefix, topic);
    this.published++;
    this.inFlight.add(nonce);
    if (target.echoed) this.remember(this.sentAt, nonce, performance.now());
    target.command
      .ssePublish(
        keys.meta,
        keys.evicted,
        keys.stream,
        keys.channel,
        topic,
        JSON.stringify(event),
        target.historySize,
        this.newEpoch(),
        formatOrigin(this.origin, nonce),
        target.historySize > 0 ? "1" : "0",
      )
      .then(
        () => this.inFlight.delete(nonce),
        (error: Error) => {
          if (this.closed) return;
          // Its echo came already: Redis ran it, and it was delivered here.
          if (!this.inFlight.delete(nonce)) return;
          // Whether Redis ran it is unknown: deliver it here, and not again if its echo comes.
          this.sentAt.delete(nonce);
          this.remember(this.deliveredHere, nonce, undefined);
          this.deliverHere(topic, event);
          this.hooks.failed(error);
        },
      );
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
    const sent = this.sentAt.get(nonce);
    // Round trips only: an older echo coming after this one is not timed.
    for (const old of this.sentAt.keys()) {
      if (old > nonce) break;
      this.sentAt.delete(old);
    }
    if (sent !== undefined) this.hooks.roundTrip((performance.now() - sent) / 1000);
    // Not pruned by order: a stopped Redis may run a command of a dropped socket after one of
    // the new socket, so an older echo can still come (the memory is capped).
    return this.deliveredHere.size > 0 && this.deliveredHere.delete(nonce);
  }

  /** The link went down: counts what is delivered here only from now. */
  down(): void {
    this.localOnlySinceDown = 0;
  }

  /** The link is ready: the next `maxPending` overflow is logged again. */
  ready(): void {
    this.overflowReported = false;
  }

  /** Settles nothing more: what is in flight is neither delivered nor reported. */
  close(): void {
    this.closed = true;
  }

  /** A publish past `maxPending`: delivered here only, counted, logged once per ready spell. */
  private overflowed(topic: string, event: SSEEvent): void {
    this.overflow++;
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.options.logger?.error(
        `sse-redis: ${this.options.maxPending} publishes to Redis at ${this.options.safeUrl} are unanswered (maxPending); until it answers, further events published on this process reach its own clients only`,
      );
    }
    this.hooks.deliverHere(topic, { ...event });
  }

  /** Adds `nonce` to `memory`, forgetting the oldest past {@link MAX_REMEMBERED}. */
  private remember<V>(memory: Set<number> | Map<number, V>, nonce: number, value: V): void {
    if (memory instanceof Map) memory.set(nonce, value);
    else memory.add(nonce);
    if (memory.size > MAX_REMEMBERED) memory.delete(memory.keys().next().value!);
  }
}
