import type { SlowClientPolicy } from "../base/slow-client-policy.js";
import type { SSEEvent } from "../wire/encode.js";
import { EMPTY, type Frame, type FrameFormat } from "../wire/frame.js";
import type { ClientSnapshot, RepairReason, TopicRule } from "../wire/topic-policy.js";
import type { Client } from "./client.js";
import type { FlushPass } from "./flush-pass.js";
import { EventIterator, type FrameReader } from "./iterator.js";
import { Delivery, LiveQueue } from "./live-queue.js";
import { Repairs, type RepairTarget, repairable } from "./repairs.js";
import type { Resume } from "./resume.js";
import { type OrderPosition, ShownEvents } from "./shown-events.js";
import type { Consumer, SubscriptionHost } from "./subscription-host.js";

/** Events read from a resume per write while a client catches up. */
const REPLAY_BATCH = 64;

/**
 * The stream-side handle of one subscription, which the broker gives its
 * handlers (`EventBroker.open`) and users see as a {@link Client}. It routes
 * each frame offered to it to its {@link LiveQueue} (or, while it catches up
 * after `Last-Event-ID`, its {@link Resume}), asks its host's flush
 * scheduler to flush its stream when the stream can take more, hands the
 * stream one chunk per write ({@link Subscription.take}), and serves
 * `for await` ({@link EventIterator}) when no transport is attached.
 * @internal
 */
export class Subscription implements Client, FrameReader, RepairTarget {
  readonly topics: readonly string[];
  private readonly host: SubscriptionHost;
  private readonly queue: LiveQueue;
  /** While it catches up after `Last-Event-ID`: where the missed events come from. */
  private resume: Resume | undefined;
  /** Topics waiting for a snapshot (or a state topic's latest event) instead of what they lost. */
  private repairs: Repairs | undefined;
  /** On a backplane: events the page already shows, which may still arrive. */
  private shown: ShownEvents | undefined;
  private consumer: Consumer | null = null;
  /** Iterators waiting for an event; null (no array) while none is. */
  private waiters: (() => void)[] | null = null;
  private isClosed = false;
  /** Set once it fell behind under the "disconnect" policy and its end was asked for. */
  private leaving = false;
  private dropCount = 0;
  /** `done`, made when first asked for (most clients never are), and its resolve. */
  private ended: Promise<void> | undefined;
  private resolveEnded: (() => void) | undefined;

  /** @param renderSnapshot - its own renderer of snapshots (a handler's `snapshot`, bound to the request). */
  constructor(
    host: SubscriptionHost,
    topics: readonly string[],
    buffer: { readonly bufferSize: number; readonly slowClient: SlowClientPolicy },
    readonly renderSnapshot?: ClientSnapshot,
  ) {
    this.host = host;
    this.topics = topics;
    this.queue = new LiveQueue(buffer.bufferSize, buffer.slowClient);
  }

  /** See {@link Client.done}; made on first use. */
  get done(): Promise<void> {
    this.ended ??= this.isClosed
      ? Promise.resolve()
      : new Promise((resolve) => {
          this.resolveEnded = resolve;
        });
    return this.ended;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get dropped(): number {
    return this.dropCount;
  }

  /** Drain timing (the `drained` hook): blocked now, ms, if its host times drains; else -1. @internal */
  blockedAt(): number {
    return this.host.timesDrains?.() === true ? performance.now() : -1;
  }

  /** Its stream, blocked since `since` (from {@link blockedAt}), could write again. @internal */
  unblocked(since: number): void {
    this.host.drained?.(this, (performance.now() - since) / 1000);
  }

  /**
   * Offers `frame` to this client: its live queue takes it (or, past the
   * buffer, the slow-client policy decides), or its resume while it
   * catches up.
   */
  offer(frame: Frame): Delivery {
    if (this.repairs?.covers(frame) || this.shown?.shows(frame)) return Delivery.Deferred;
    const resume = this.resume;
    const live = resume === undefined || !resume.covers(frame.topic);
    const result = live ? this.queue.offer(frame, this.consumer) : resume.offer(frame);
    if (result !== Delivery.Queued && result !== Delivery.Conflated) {
      // Overflow (of the live queue, or of what a resume holds) on a topic that can be
      // repaired loses nothing: a snapshot takes its place.
      const lost = result === Delivery.Dropped ? frame : this.queue.evicted;
      if (lost !== undefined && this.repairable(lost.rule)) {
        this.repair(lost.topic, "overflow");
        return result === Delivery.Dropped ? Delivery.Deferred : Delivery.Queued;
      }
      this.dropCount++;
      if (result === Delivery.Dropped) {
        if (this.queue.policy === "disconnect") this.fellBehind();
        return result;
      }
    }
    if (live || resume.replaying) this.poke();
    return result;
  }

  /**
   * `topic`'s events cannot reach this client exactly (`reason`): what is
   * queued of it is dropped, and once the client has written everything
   * queued, a snapshot (or the topic's latest event) takes its place.
   */
  repair(topic: string, reason: RepairReason): void {
    if (this.repairs === undefined) this.repairs = new Repairs(this.host.repairer!);
    this.queue.removeTopic(topic);
    this.repairs.need(topic, reason);
    // A render it was paused for need not be waited for any more: what ended meanwhile goes now.
    this.release(this.repairs);
  }

  /** True when a topic of `rule` can be repaired for this client (see {@link repairable}). */
  repairable(rule: TopicRule | undefined): boolean {
    return repairable(rule, this.renderSnapshot !== undefined);
  }

  repairStarted(topic: string, render: object, head?: OrderPosition): void {
    const shown = this.repairs?.started(topic, render, head);
    if (shown !== undefined) this.skipTo([topic], shown);
  }

  /** The page shows the events of `topics` up to `upTo`: skipped if they still come (a backplane's). */
  skipTo(topics: readonly string[], upTo: OrderPosition): void {
    if (this.shown === undefined) this.shown = new ShownEvents();
    this.shown.add(topics, upTo);
  }

  repaired(topic: string, frame: Frame | undefined, render: object): boolean {
    const repairs = this.repairs;
    if (this.isClosed || repairs?.finish(topic, frame, render) !== true) return false;
    this.release(repairs);
    return frame !== undefined;
  }

  /** Once no render is in flight: the repairs that ended go first, and the client writes again. */
  private release(repairs: Repairs): void {
    // First: what came after the renders started is queued behind them.
    const frames = repairs.release() ?? [];
    for (let i = frames.length - 1; i >= 0; i--) this.queue.unshift(frames[i]!);
    if (!repairs.paused) this.poke();
  }

  /** Starts by catching up through `resume` (local history, or a backplane's replay), then goes live. */
  resumeWith(resume: Resume): void {
    this.resume = resume;
  }

  /** True while it waits for a backplane's replay: nothing can be written to it before that. */
  get awaitingReplay(): boolean {
    return this.resume?.awaiting === true;
  }

  /** The backplane replay its resume awaited arrived: see {@link Resume.feed}. */
  replayed(frames: readonly Frame[], afterSeq: number): void {
    if (this.resume?.feed(frames, afterSeq)) this.poke();
  }

  /** Queues `frame` ahead of everything else (a resume-miss event; the queue is empty then). */
  prepend(frame: Frame): void {
    this.queue.requeue(frame);
  }

  /** Connects a transport that drains this client; ends it at once if the client is closed. */
  attach(consumer: Consumer): void {
    if (this.isClosed) {
      consumer.end(false);
      return;
    }
    this.consumer = consumer;
    if (this.queue.length > 0 || this.resume !== undefined || this.repairs?.due) {
      this.host.flusher.schedule(consumer);
    }
  }

  /**
   * Removes and returns what is queued as one chunk (empty when nothing is),
   * each frame in `format` (default: {@link Frame.chunk}): while catching up,
   * the next batch of missed events.
   */
  take(format: FrameFormat | undefined, pass: FlushPass): Uint8Array {
    // While a repair renders, nothing is written: it goes first.
    if (this.repairs?.paused) return EMPTY;
    if (this.resume !== undefined) {
      const missed = this.catchUp(REPLAY_BATCH);
      if (missed.length > 0) return pass.join(this.repairs?.mark(missed) ?? missed, format);
    }
    this.requestRepairs();
    const repairs = this.repairs;
    const mark = repairs?.marks === true ? (frames: Frame[]) => repairs.mark(frames) : undefined;
    return this.queue.take(format, pass, mark);
  }

  /** The client left (its connection closed): its host ends it, discarding what is queued. */
  leave(): void {
    this.host.endClient(this, "client");
  }

  /** The next frame for an iterator. */
  read(): Frame | undefined {
    if (this.repairs?.paused) return undefined;
    if (this.resume !== undefined && !this.isClosed) {
      const [first, ...rest] = this.catchUp(1);
      for (const frame of rest) this.queue.requeue(frame);
      if (first !== undefined) return this.repairs?.mark([first])[0] ?? first;
    }
    this.requestRepairs();
    const frame = this.queue.shift();
    return frame === undefined ? undefined : (this.repairs?.mark([frame])[0] ?? frame);
  }

  readable(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.waiters === null) this.waiters = [];
      this.waiters.push(resolve);
    });
  }

  /**
   * Ends the client. `discard` drops what is queued (unsubscribe); otherwise
   * a transport flushes it first and an iterator still yields it (broker close).
   */
  close(discard: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (discard) {
      this.queue.clear();
      this.resume = undefined;
    }
    const consumer = this.consumer;
    this.consumer = null;
    consumer?.end(discard);
    this.resolveEnded?.();
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEEvent> {
    return new EventIterator(this);
  }

  /**
   * What was requeued (a resume-miss event, frames an iterator has not read
   * yet), then the next `limit` missed events; once the resume reports
   * caught up, the client is live.
   */
  private catchUp(limit: number): Frame[] {
    const frames: Frame[] = [];
    this.queue.drainRing(frames);
    if (this.resume!.read(limit, frames)) this.resume = undefined;
    return frames;
  }

  /**
   * Once everything queued was written (and a resume caught up), asks for
   * the repairs this client needs: it has every event up to now.
   */
  private requestRepairs(): void {
    const repairs = this.repairs;
    if (repairs?.due && this.resume === undefined && this.queue.length === 0 && !this.isClosed) {
      repairs.request(this);
    }
  }

  /** Under the "disconnect" policy: has the host end this client, once. */
  private fellBehind(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.host.endClient(this, "slow");
  }

  /** Lets whoever drains this client know there is something to read. */
  private poke(): void {
    const consumer = this.consumer;
    if (consumer === null) this.wake();
    else if (!consumer.blocked) this.host.flusher.schedule(consumer);
  }

  private wake(): void {
    const waiters = this.waiters;
    if (waiters === null) return;
    this.waiters = null;
    for (const resolve of waiters) resolve();
  }
}
