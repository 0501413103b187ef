import { numberOption } from "../base/option-checks.js";
import { encodeComment } from "../wire/encode.js";
import { type FrameFormat, toBytes } from "../wire/frame.js";
import { FlushPass } from "./flush-pass.js";
import type { Subscription } from "./subscription.js";
import type { Consumer } from "./subscription-host.js";

/** Default interval of the keepalive comment, in milliseconds. */
export const DEFAULT_KEEPALIVE_MS = 30_000;

/** Bytes a stream may owe its transport per tick before events wait in the ring buffer. */
export const DEFAULT_WRITE_BUDGET = 16 * 1024;

const KEEPALIVE = toBytes(encodeComment("keepalive"));

/**
 * What a stream whose client awaits a backplane's replay writes first, at
 * once: its client (and any proxy or fetch bridge between) sees an open
 * stream before the replay arrives.
 */
const RESUMING = toBytes(encodeComment("resuming"));

/**
 * One timer per distinct interval serves every open stream, instead of one
 * timer per connection.
 */
class KeepaliveGroup {
  readonly streams = new Set<EventStream>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(ms: number) {
    this.timer = setInterval(() => {
      const pass = new FlushPass();
      for (const stream of this.streams) stream.keepalive(pass);
    }, ms);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

const keepaliveGroups = new Map<number, KeepaliveGroup>();

function startKeepalive(stream: EventStream, ms: number): void {
  let group = keepaliveGroups.get(ms);
  if (group === undefined) {
    group = new KeepaliveGroup(ms);
    keepaliveGroups.set(ms, group);
  }
  group.streams.add(stream);
}

function stopKeepalive(stream: EventStream, ms: number): void {
  const group = keepaliveGroups.get(ms);
  if (group === undefined) return;
  group.streams.delete(stream);
  if (group.streams.size === 0) {
    group.stop();
    keepaliveGroups.delete(ms);
  }
}

/** Default window of the random `retry:` sent to each stream when the broker closes. */
export const DEFAULT_RECONNECT_WINDOW_MS = 5000;

/** The timing options a stream needs, validated. @internal */
export interface StreamTiming {
  keepaliveMs: number;
  reconnectWindowMs: number;
}

/** Validates the timing options (an {@link SSEOptionError} naming the option). @internal */
export function timingOf(options: {
  keepaliveMs?: number;
  reconnectWindowMs?: number;
}): StreamTiming {
  return {
    keepaliveMs: millisecondsOption("keepaliveMs", options.keepaliveMs, DEFAULT_KEEPALIVE_MS),
    reconnectWindowMs: millisecondsOption(
      "reconnectWindowMs",
      options.reconnectWindowMs,
      DEFAULT_RECONNECT_WINDOW_MS,
    ),
  };
}

/** An interval in milliseconds: a finite number of at least 0 (0: off), floored. */
function millisecondsOption(name: string, value: unknown, fallback: number): number {
  return numberOption(name, value, { fallback, min: 0, fraction: true, infinity: false });
}

/**
 * Drains one client into one transport: the only code that writes event
 * bytes. Honours backpressure (waits for the transport's drain when a write
 * returns false; meanwhile the client's ring buffer absorbs events and counts
 * drops), writes what is queued as one chunk, and sends keepalives. A
 * transport subclasses it (`NodeStream`, `FetchStream`): one object per
 * connection is both the stream and its transport.
 * @internal
 */
export abstract class EventStream implements Consumer {
  /** True from a write the transport refused until it drains: see {@link EventStream.block}. */
  blocked = false;
  /** The mark of the flush scheduler that flushes this stream: read and written by it only. */
  flushMark = 0;
  readonly budget: number;
  private ended = false;
  /** Drain timing: when the transport last refused more, if timed (see `Subscription.blockedAt`); -1 otherwise. */
  private blockedSince = -1;

  constructor(
    protected readonly client: Subscription,
    private readonly timing: StreamTiming,
    budget: number = DEFAULT_WRITE_BUDGET,
    private readonly format?: FrameFormat,
  ) {
    this.budget = budget > 0 ? budget : DEFAULT_WRITE_BUDGET;
  }

  /**
   * Hands `chunk` to the transport; false asks for a pause (the transport
   * then calls {@link EventStream.drained}). `pass` is the flush the write
   * belongs to: a transport that encodes chunks (HTTP/1.1 framing) encodes
   * each once per pass ({@link FlushPass.encode}).
   */
  protected abstract send(chunk: Uint8Array, pass: FlushPass): boolean;

  /** Ends the transport; `closing`: the broker closed, so the connection should not be reused either. */
  protected abstract finish(closing: boolean): void;

  /** Everything queued so far was handed to the transport, which can take more. */
  protected idle(): void {}

  /**
   * Starts the keepalive and connects to the client (once the transport is
   * set up). A client that awaits a backplane's replay is sent a comment
   * first, so that its first bytes do not wait for the replay.
   */
  start(): void {
    const keepaliveMs = this.timing.keepaliveMs;
    if (keepaliveMs > 0) startKeepalive(this, keepaliveMs);
    if (this.client.awaitingReplay && !this.client.closed) this.write(RESUMING, new FlushPass());
    this.client.attach(this);
  }

  /** Writes what the client holds, chunk by chunk, until it is empty or the transport is full. */
  flush(pass: FlushPass): void {
    while (!this.blocked && !this.ended) {
      const chunk = this.client.take(this.format, pass);
      if (chunk.byteLength === 0) {
        this.idle();
        return;
      }
      this.write(chunk, pass);
    }
  }

  /** The transport can take more. */
  drained(): void {
    this.unblock();
    this.flush(new FlushPass());
  }

  keepalive(pass: FlushPass): void {
    if (!this.blocked && !this.ended) this.write(KEEPALIVE, pass);
  }

  end(discard: boolean): void {
    if (this.ended) return;
    if (!discard) {
      // Shutdown: hand over what is queued (at most bufferSize events past the budget),
      // then a random retry so that browsers spread their reconnects.
      const pass = new FlushPass();
      const chunk = this.client.take(this.format, pass);
      if (chunk.byteLength > 0) this.send(chunk, pass);
      const window = this.timing.reconnectWindowMs;
      if (window > 0) {
        this.send(toBytes(`retry: ${Math.floor(Math.random() * window)}\n\n`), pass);
      }
    }
    this.ended = true;
    const keepaliveMs = this.timing.keepaliveMs;
    if (keepaliveMs > 0) stopKeepalive(this, keepaliveMs);
    this.finish(!discard);
  }

  private write(chunk: Uint8Array, pass: FlushPass): void {
    if (!this.send(chunk, pass)) this.block();
  }

  /**
   * The transport refused more: from here until {@link EventStream.unblock}
   * the client's events wait in its ring buffer. The one place a stream
   * becomes blocked.
   */
  private block(): void {
    this.blocked = true;
    this.blockedSince = this.client.blockedAt();
  }

  /** The transport drained: the one place a blocked stream becomes writable again. */
  private unblock(): void {
    // Drain timing: one report per blocked period (a fetch body's pull also comes unblocked).
    if (this.blockedSince >= 0) {
      const since = this.blockedSince;
      this.blockedSince = -1;
      if (this.blocked && !this.ended) this.client.unblocked(since);
    }
    this.blocked = false;
  }
}
