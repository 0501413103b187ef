import type { SSEEvent } from "./encode.js";
import { RingBuffer } from "./ring-buffer.js";

/**
 * One published event, validated and encoded once, shared by every client that
 * receives it. Internal.
 */
export interface Frame {
  readonly event: Readonly<SSEEvent>;
  /** Its wire bytes as a named event (`event: <type>`): what every stream sends by default. */
  readonly chunk: Uint8Array;
  /** Place in the broker's publish order when history is on, else 0. */
  readonly seq: number;
  /** The topic it was published on ("" for a frame of no topic: a signal, a request stream's event). */
  readonly topic: string;
  /** Its other encodings (htmx 4 messages), made on first use and shared by every stream that sends them. */
  variants?: Map<object, Uint8Array>;
}

/**
 * How a stream turns a frame into bytes, when not as {@link Frame.chunk}
 * (the default). Implemented by the htmx 4 message format.
 * @internal
 */
export interface FrameFormat {
  bytes(frame: Frame): Uint8Array;
}

/**
 * What drains a client into a transport (an HTTP response or a fetch stream).
 * Internal: implemented by EventStream.
 */
export interface Consumer {
  /** True while the transport asked us to wait (write() returned false). */
  readonly blocked: boolean;
  /** Bytes a client may collect in one tick before further events go to its ring buffer. */
  readonly budget: number;
  flush(): void;
  end(discard: boolean): void;
}

/**
 * A subscription to one or more topics. Iterate it with `for await` to receive
 * events in code, or let a handler stream it to a browser.
 *
 * @example
 * ```ts
 * const client = broker.subscribe(["news", "status"]);
 * for await (const event of client) console.log(event.type, event.data);
 * ```
 */
export interface Client extends AsyncIterable<SSEEvent> {
  /** The topics it receives, without duplicates. */
  readonly topics: readonly string[];
  /** True once unsubscribed or the broker closed. */
  readonly closed: boolean;
  /**
   * Resolves when unsubscribed or the broker closes. `unsubscribe` discards what
   * is queued; `broker.close()` lets HTTP streams flush what is queued, then end.
   */
  readonly done: Promise<void>;
  /** Events lost because its buffer was full. */
  readonly dropped: number;
}

/** Internal hooks a Subscription needs from its broker. */
export interface SubscriptionOwner {
  scheduleFlush(client: Subscription): void;
  unsubscribe(client: Client): void;
  /** Up to `limit` retained events of `topics` after `cursor`; `gap` when some were evicted. */
  replay(
    topics: readonly string[],
    cursor: number,
    limit: number,
  ): { frames: Frame[]; gap: boolean };
  /** A resume that cannot be gap-free: counted; returns the frame that tells the client, if any. */
  resumeMissed(client: Subscription): Frame | undefined;
  /** Ends a client that fell behind under the "disconnect" policy. */
  disconnect(client: Subscription): void;
  /**
   * True while someone is told of drains (a broker with observers): only
   * then does a blocked stream read the clock. Absent: never.
   */
  timesDrains?(): boolean;
  /** A stream of `client` that its transport blocked could write again, `seconds` later. */
  drained?(client: Subscription, seconds: number): void;
}

/**
 * What happens to an event for a client whose buffer is full:
 * `"drop-newest"` loses the new event (the Go original's rule);
 * `"drop-oldest"` loses the oldest queued one and keeps the new;
 * `"disconnect"` ends the client (a browser reconnects, and with history on
 * resumes without loss).
 */
export type SlowClientPolicy = "drop-newest" | "drop-oldest" | "disconnect";

/** What `deliver` did: dropped it, queued it, or queued it and dropped an older one. */
export enum Delivery {
  Dropped = 0,
  Queued = 1,
  QueuedDroppingOldest = 2,
}

/** Events read from history per write while a client catches up. */
const REPLAY_BATCH = 64;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Encodes a string to UTF-8 bytes. */
export function toBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * The broker's client. Holds two queues: `pending`, events a writable
 * transport takes at the end of this tick (bounded in bytes by the consumer's
 * budget, joined into one write), and `queue`, a ring of at most `bufferSize`
 * events the transport cannot take yet. Past both, events are dropped and
 * counted. Internal: the public type is {@link Client}.
 */
export class Subscription implements Client {
  readonly topics: readonly string[];
  readonly done: Promise<void>;
  /** Set by the broker's flush scheduler. */
  dirty = false;
  private readonly owner: SubscriptionOwner;
  private readonly queue: RingBuffer<Frame>;
  private readonly pending: Frame[] = [];
  private pendingBytes = 0;
  private consumer: Consumer | null = null;
  /** Iterators waiting for an event; null (no array) while none is. */
  private waiters: (() => void)[] | null = null;
  private isClosed = false;
  private dropCount = 0;
  /** While >= 0 the client is catching up from history after this seq; live events wait there. */
  private cursor = -1;
  private gapSignalled = false;
  /** Set once a "disconnect" policy has scheduled this client's end. */
  private leaving = false;
  /**
   * A backplane resume (cursor 0 while it lasts): the replay, then the live
   * frames held while it was fetched and drained; null otherwise.
   */
  private backlog: Frame[] | null = null;
  /** Where the next read of `backlog` starts; -1 while the replay is awaited. */
  private backlogAt = -1;
  /** Live frames `backlog` may still take before the slow-client policy applies. */
  private backlogRoom = 0;
  private resolveDone!: () => void;

  constructor(
    owner: SubscriptionOwner,
    topics: readonly string[],
    bufferSize: number,
    private readonly policy: SlowClientPolicy = "drop-newest",
  ) {
    this.owner = owner;
    this.topics = topics;
    this.queue = new RingBuffer(bufferSize);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get dropped(): number {
    return this.dropCount;
  }

  /**
   * Drain timing, for the broker's `drained` hook: when its stream's
   * transport refused more, the time now (ms) if its owner times drains,
   * else -1 (no clock read). @internal
   */
  blockedAt(): number {
    return this.owner.timesDrains?.() === true ? performance.now() : -1;
  }

  /** Its stream, blocked since `since` (from {@link blockedAt}), could write again. @internal */
  unblocked(since: number): void {
    this.owner.drained?.(this, (performance.now() - since) / 1000);
  }

  /** Hands `frame` to this client. */
  deliver(frame: Frame): Delivery {
    // Catching up: the frame is in history and is read from there in order
    // (or, resuming through a backplane, held until the replay is written).
    if (this.cursor >= 0) return this.backlog === null ? Delivery.Queued : this.hold(frame);
    const consumer = this.consumer;
    if (
      consumer !== null &&
      !consumer.blocked &&
      this.queue.length === 0 &&
      this.pendingBytes < consumer.budget
    ) {
      this.pending.push(frame);
      this.pendingBytes += frame.chunk.byteLength;
      if (!this.dirty) this.owner.scheduleFlush(this);
      return Delivery.Queued;
    }
    let result = Delivery.Queued;
    if (!this.queue.push(frame)) {
      this.dropCount++;
      if (this.policy === "drop-newest") return Delivery.Dropped;
      if (this.policy === "disconnect") {
        this.leave();
        return Delivery.Dropped;
      }
      this.queue.shift();
      this.queue.push(frame);
      result = Delivery.QueuedDroppingOldest;
    }
    this.poke();
    return result;
  }

  /** Starts by replaying history after `seq`, then goes live. */
  resumeAfter(seq: number): void {
    this.cursor = seq;
  }

  /**
   * Starts a resume whose replay arrives later (from a backplane): live
   * frames are held, at most `room` of them, until {@link replayed}.
   */
  awaitReplay(room: number): void {
    this.cursor = 0;
    this.backlog = [];
    this.backlogRoom = room;
  }

  /**
   * The awaited replay arrived (`frames`, in order, after `afterSeq`): writes
   * them, then the held live frames that come after them, then goes live.
   */
  replayed(frames: readonly Frame[], afterSeq: number): void {
    const held = this.backlog;
    if (held === null || this.backlogAt >= 0) return;
    let last = afterSeq;
    for (const frame of frames) if (frame.seq > last) last = frame.seq;
    // The overlap between replay and live (and seq 0: published locally only) by seq.
    const backlog = frames.slice();
    for (const frame of held) if (frame.seq === 0 || frame.seq > last) backlog.push(frame);
    // Held duplicates no longer take room.
    this.backlogRoom += held.length - (backlog.length - frames.length);
    this.backlog = backlog;
    this.backlogAt = 0;
    this.poke();
  }

  /** Queues `frame` ahead of everything else (a resume-miss signal; the queue is empty then). */
  signal(frame: Frame): void {
    this.queue.push(frame);
  }

  /** Connects a transport that drains this client; ends it at once if the client is closed. */
  attach(consumer: Consumer): void {
    if (this.isClosed) {
      consumer.end(false);
      return;
    }
    this.consumer = consumer;
    if ((this.queue.length > 0 || this.cursor >= 0) && !this.dirty) this.owner.scheduleFlush(this);
  }

  /** Lets the attached transport write what is pending now. */
  flushNow(): void {
    this.consumer?.flush();
  }

  /**
   * Removes and returns everything queued as one chunk (empty when nothing
   * is), each frame in `format` (default: {@link Frame.chunk}).
   */
  take(format?: FrameFormat): Uint8Array {
    if (this.cursor >= 0) {
      const replay = this.nextReplay(REPLAY_BATCH);
      if (replay.length > 0) return join(replay, format);
    }
    const pending = this.pending;
    const queued = this.queue.length;
    const count = pending.length + queued;
    if (count === 0) return EMPTY;
    if (count === 1) {
      const only = pending.length === 1 ? pending[0]! : this.queue.shift()!;
      if (pending.length === 1) this.resetPending();
      return bytesOf(only, format);
    }
    for (let i = 0; i < queued; i++) pending.push(this.queue.shift()!);
    const out = join(pending, format);
    this.resetPending();
    return out;
  }

  /**
   * The next events from history (with the queued resume-miss signal first,
   * if any); empty once caught up, and from then on the client is live.
   */
  private nextReplay(limit: number): Frame[] {
    const frames: Frame[] = [];
    while (this.queue.length > 0) frames.push(this.queue.shift()!);
    if (this.backlog !== null) return this.nextBacklog(frames, limit);
    const batch = this.owner.replay(this.topics, this.cursor, limit);
    if (batch.gap && !this.gapSignalled) {
      this.gapSignalled = true;
      const miss = this.owner.resumeMissed(this);
      if (miss !== undefined) frames.push(miss);
    }
    const last = batch.frames[batch.frames.length - 1];
    if (last === undefined) this.cursor = -1;
    else this.cursor = last.seq;
    for (const frame of batch.frames) frames.push(frame);
    return frames;
  }

  /** Adds the next `limit` frames of a backplane resume to `frames`; live once all are read. */
  private nextBacklog(frames: Frame[], limit: number): Frame[] {
    const backlog = this.backlog!;
    if (this.backlogAt < 0) return frames;
    const end = Math.min(backlog.length, this.backlogAt + limit);
    for (let i = this.backlogAt; i < end; i++) frames.push(backlog[i]!);
    this.backlogAt = end;
    if (end === backlog.length) {
      this.backlog = null;
      this.backlogAt = -1;
      this.cursor = -1;
    }
    return frames;
  }

  /** Holds a live frame during a backplane resume; past the room, the slow-client policy applies. */
  private hold(frame: Frame): Delivery {
    if (this.backlogRoom <= 0) {
      this.dropCount++;
      if (this.policy === "disconnect") this.leave();
      return Delivery.Dropped;
    }
    this.backlogRoom--;
    this.backlog!.push(frame);
    if (this.backlogAt >= 0) this.poke();
    return Delivery.Queued;
  }

  /** Under the "disconnect" policy: has the broker end this client, once. */
  private leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.owner.disconnect(this);
  }

  /** Lets whoever drains this client know there is something to read. */
  private poke(): void {
    const consumer = this.consumer;
    if (consumer === null) this.wake();
    else if (!consumer.blocked && !this.dirty) this.owner.scheduleFlush(this);
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
      this.resetPending();
      this.backlog = null;
    }
    const consumer = this.consumer;
    this.consumer = null;
    consumer?.end(discard);
    this.resolveDone();
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEEvent> {
    return {
      next: () => this.next(),
      return: async () => {
        this.owner.unsubscribe(this);
        return { value: undefined, done: true };
      },
    };
  }

  private async next(): Promise<IteratorResult<SSEEvent>> {
    for (;;) {
      if (this.cursor >= 0 && !this.isClosed) {
        const [first, ...rest] = this.nextReplay(1);
        for (const frame of rest) this.queue.push(frame);
        if (first !== undefined) return { value: first.event, done: false };
      }
      const frame = this.queue.shift();
      if (frame !== undefined) return { value: frame.event, done: false };
      if (this.isClosed) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        if (this.waiters === null) this.waiters = [];
        this.waiters.push(resolve);
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    if (waiters === null) return;
    this.waiters = null;
    for (const resolve of waiters) resolve();
  }

  private resetPending(): void {
    this.pending.length = 0;
    this.pendingBytes = 0;
  }
}

/** A frame's bytes in `format` (default: its named-event chunk). */
function bytesOf(frame: Frame, format: FrameFormat | undefined): Uint8Array {
  return format === undefined ? frame.chunk : format.bytes(frame);
}

/** Joins frames' bytes, each in `format`, into one chunk (one write). */
function join(frames: readonly Frame[], format: FrameFormat | undefined): Uint8Array {
  if (frames.length === 1) return bytesOf(frames[0]!, format);
  // Clients of one topic flushed in the same tick hold the same frames: the
  // last join is reused by every following client with the same list (and
  // format), so a burst is copied once per tick, not once per client.
  if (format === lastJoin.format && sameFrames(frames, lastJoin.frames)) return lastJoin.chunk;
  // Two passes over the frames instead of an array of their bytes: a frame's
  // bytes in a format are made once and cached on the frame, so the second
  // call is a lookup.
  let total = 0;
  for (const frame of frames) total += bytesOf(frame, format).byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const frame of frames) {
    const bytes = bytesOf(frame, format);
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  lastJoin.frames = frames.slice();
  lastJoin.format = format;
  lastJoin.chunk = out;
  return out;
}

/** The most recent join (its frames, format and bytes); bounded by one client's pending bytes. */
const lastJoin: { frames: readonly Frame[]; format: FrameFormat | undefined; chunk: Uint8Array } = {
  frames: [],
  format: undefined,
  chunk: EMPTY,
};

function sameFrames(a: readonly Frame[], b: readonly Frame[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
