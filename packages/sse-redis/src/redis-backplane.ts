import type {
  Backplane,
  BackplaneHost,
  BackplanePresence,
  BackplaneReplay,
  BackplaneStats,
  PresenceHost,
  SSEEvent,
} from "@burrow/sse-core";
import { channelPrefix, decodeMessage, parseEventId } from "./codec.js";
import { readHistory } from "./history-reader.js";
import { Link } from "./link.js";
import {
  type RedisBackplaneOptions,
  type ResolvedOptions,
  redactUrl,
  resolveOptions,
} from "./options.js";
import { RedisPresence } from "./presence-store.js";
import { Publisher } from "./publisher.js";
import { Recovery } from "./recovery.js";
import { ReplayQueue } from "./replay-queue.js";
import { Subscriptions } from "./subscriptions.js";
import { within } from "./within.js";

/** `broker.stats().backplane` with a Redis backplane. */
export interface RedisBackplaneStats extends BackplaneStats {
  /** Events sent to Redis from this process, ever. */
  published: number;
  /**
   * Events recovered from the streams after this process's subscription to
   * Redis was cut (published meanwhile by other processes), ever.
   */
  recovered: number;
  /**
   * Times a reconnection could not recover what was published meanwhile
   * (Redis lost its data, or history is off or too short), ever.
   */
  gaps: number;
  /** The last error seen, if any. */
  lastError: string | undefined;
  /** Events sent to Redis from this process and not answered yet, now (at most `maxPending`). */
  pending: number;
  /**
   * Events published here while `maxPending` were unanswered: not sent to
   * Redis, delivered on this process only, ever.
   */
  overflow: number;
  /**
   * Times a connection was closed because Redis did not answer within
   * `timeoutMs` (each reconnection attempt to a hung Redis counts), ever.
   */
  timeouts: number;
  /** Resumes reading history from Redis or waiting their turn (see `maxReplays`), now. */
  replays: number;
  /** Resumes whose client left before their turn: nothing was read for them, ever. */
  replaysSkipped: number;
  /** Presence sweeps for processes that stopped renewing their members run here, ever. */
  presenceSweeps: number;
}

/**
 * The Redis {@link Backplane}: one global order from a counter that a Lua
 * script increments as it appends the event to its topic's stream (capped at
 * `historySize`) and publishes it on the topic's channel, in one atomic step.
 * Each process subscribes, on one connection, to the channels of the topics
 * its clients watch, so every process receives every event in the same order.
 * Create it with {@link redisBackplane}.
 *
 * It composes one owner per role: the {@link Link} (connections, watchdogs,
 * state), the {@link Subscriptions} (channels), the {@link Publisher}
 * (publishes in flight, `maxPending`, echoes), the {@link Recovery} (the
 * order, and the catch-up after a cut), the codec (the wire format) and the
 * {@link ReplayQueue} (resumes).
 */
export class RedisBackplane implements Backplane {
  private readonly options: ResolvedOptions;
  private host: BackplaneHost | undefined;
  private readonly link: Link;
  private readonly subscriptions: Subscriptions;
  private readonly publisher: Publisher;
  private readonly recovery: Recovery;
  private readonly replays: ReplayQueue;
  private skippedCount = 0;
  private presenceStore: RedisPresence | undefined;

  /** @param options - see {@link RedisBackplaneOptions}. */
  constructor(options: RedisBackplaneOptions = {}) {
    this.options = resolveOptions(options);
    const { logger, maxPending, maxReplays, prefix } = this.options;
    const safeUrl = redactUrl(this.options.url);
    this.replays = new ReplayQueue(maxReplays);
    this.link = new Link(this.options, safeUrl, {
      connected: () => this.sync(),
      subscriberClosed: () => this.subscriptions.lost(),
      message: (channel, raw) => this.onMessage(channel, raw),
      changed: (state) => {
        if (state === "down") {
          // Their replays would wait for a Redis that is not there: misses, now.
          this.replays.flush();
          this.publisher.down();
        }
        if (state === "ready") this.publisher.ready();
      },
      localOnlySinceDown: () => this.publisher.localOnlySinceDown,
    });
    this.subscriptions = new Subscriptions(this.link, prefix);
    this.publisher = new Publisher(
      { maxPending, logger, safeUrl },
      {
        deliverHere: (topic, event) => this.host!.deliver(topic, event, 0),
        failed: (error) => this.link.publishFailed(error),
        roundTrip: (seconds) => this.host?.report?.({ kind: "roundTrip", seconds }),
      },
    );
    this.recovery = new Recovery(
      { logger, safeUrl },
      {
        deliver: (topic, event, seq) => this.host!.deliver(topic, event, seq),
        echo: (origin) => this.publisher.echo(origin),
      },
    );
  }

  /** Connects to Redis; called once by the broker. */
  attach(host: BackplaneHost): void {
    if (this.host !== undefined) {
      throw new Error("sse-redis: backplane: already attached to a broker; create one per broker");
    }
    this.host = host;
    this.link.connect((report) => host.report?.(report));
  }

  /** Orders `event` through Redis; while Redis is unreachable, delivers it on this process only. */
  publish(topic: string, event: SSEEvent): void {
    const host = this.host;
    const state = this.link.state;
    if (host === undefined || state === "closed") return;
    if (state !== "ready") {
      this.publisher.deliverHere(topic, event);
      return;
    }
    const target = {
      command: this.link.command!,
      prefix: this.options.prefix,
      historySize: host.historySize,
      echoed: this.subscriptions.isLive(topic),
    };
    this.publisher.send(target, topic, event);
  }

  /** Subscribes to `topic`'s channel (now, or as soon as Redis is reachable). */
  watch(topic: string): void {
    this.subscriptions.watch(topic);
  }

  /** Unsubscribes from `topic`'s channel. */
  unwatch(topic: string): void {
    this.subscriptions.unwatch(topic);
  }

  /**
   * Reads what `topics` retained after `lastEventId` (see
   * {@link Backplane.replay}), in pages, at most `maxReplays` resumes at a
   * time; nothing is read once `signal` aborts (the client left). A miss
   * (undefined) when Redis is down or does not answer within `timeoutMs`.
   */
  async replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    const id = parseEventId(lastEventId);
    const historySize = this.host?.historySize ?? 0;
    if (id === undefined || historySize === 0 || this.link.state !== "ready") return undefined;
    const { timeoutMs } = this.options;
    // Live deliveries must have started before the read: then the two overlap, never leave a hole.
    const watching = this.subscriptions.answered(topics);
    if ((await within(watching, timeoutMs, false)) === false) return undefined;
    if (!this.link.synced) return undefined;
    const release = await this.replays.turn(signal);
    if (release === undefined || signal?.aborted) {
      release?.();
      if (signal?.aborted) this.skippedCount++;
      return undefined;
    }
    let events: BackplaneReplay["events"] | undefined;
    try {
      if (this.link.state !== "ready") return undefined;
      events = await readHistory({
        redis: this.link.command!,
        prefix: this.options.prefix,
        topics,
        epoch: id.epoch,
        after: id.seq,
        limit: historySize,
        timeoutMs,
        signal,
      });
    } finally {
      release();
    }
    if (events === undefined) return undefined;
    // A barrier: Redis answers this PING after the messages it queued on the subscriber before,
    // so the live copies of the events just read are delivered (and held) before the replay.
    const barrier = this.link.subscriber!.ping().then(() => true);
    if ((await within(barrier, timeoutMs, false)) === false) return undefined;
    return { after: id.seq, events };
  }

  /**
   * The id of the last event Redis ordered (on any process), `<epoch>-<seq>`:
   * `replay(topics, await latest())` returns exactly the events published
   * after this call. On an empty Redis it sets the epoch and returns
   * `<epoch>-0`. Undefined when history is off, Redis is down, or it does
   * not answer within `timeoutMs`.
   */
  async latest(): Promise<string | undefined> {
    if ((this.host?.historySize ?? 0) === 0 || this.link.state !== "ready") return undefined;
    try {
      const { epoch, seq } = await this.head();
      return `${epoch}-${seq}`;
    } catch {
      return undefined;
    }
  }

  /** The link's state and counters. */
  stats(): RedisBackplaneStats {
    const { link, publisher, recovery } = this;
    return {
      state: link.state,
      errors: link.errors,
      localOnly: publisher.localOnly,
      received: recovery.received,
      topics: this.subscriptions.size,
      published: publisher.published,
      recovered: recovery.recovered,
      gaps: recovery.gaps,
      lastError: link.lastError?.message,
      pending: publisher.pending,
      overflow: publisher.overflow,
      timeouts: link.timeouts,
      replays: this.replays.size,
      replaysSkipped: this.skippedCount,
      presenceSweeps: this.presenceStore?.sweeps ?? 0,
    };
  }

  /**
   * Shares the broker's presence through Redis, on a connection of its own
   * (see {@link RedisBackplaneOptions.presenceTtlMs}); called by the broker.
   */
  presence(host: PresenceHost): BackplanePresence {
    if (this.presenceStore !== undefined) {
      throw new Error("sse-redis: backplane: presence already shared with a broker");
    }
    this.presenceStore = new RedisPresence(host, {
      url: this.options.url,
      redis: this.options.redis,
      prefix: this.options.prefix,
      ttlMs: this.options.presenceTtlMs,
      timeoutMs: this.options.timeoutMs,
      // The command connection reports the link's errors; this one's would repeat them.
      onError: () => {},
    });
    return this.presenceStore;
  }

  /** Closes the Redis connections. Idempotent; the broker's `close()` calls it. */
  async close(): Promise<void> {
    if (this.link.state === "closed") return;
    this.publisher.close();
    this.recovery.close();
    this.subscriptions.clear();
    this.replays.flush();
    const presence = this.presenceStore?.close();
    await this.link.close();
    await presence;
  }

  /**
   * Once both connections are up: subscribes to every watched topic, then
   * recovers from the streams what was published while the subscription was
   * cut, holding live messages meanwhile, and only then reports ready.
   */
  private sync(): void {
    if (this.recovery.running || !this.link.canSync()) {
      this.link.update();
      return;
    }
    this.recovery.catchUp(
      this.link,
      this.subscriptions,
      (topics, epoch, after) => {
        const historySize = this.host!.historySize;
        if (historySize === 0) return Promise.resolve(undefined);
        return readHistory({
          redis: this.link.command!,
          prefix: this.options.prefix,
          topics,
          epoch,
          after,
          limit: historySize,
        });
      },
      this.host!.historySize > 0 ? () => this.head() : undefined,
    );
  }

  /** Redis's head (its epoch, set now on an empty Redis, and the last seq ordered), within `timeoutMs`. */
  private async head(): Promise<{ epoch: string; seq: number }> {
    const answer = this.link.command!.sseLatest(
      `${this.options.prefix}meta`,
      this.publisher.newEpoch(),
    );
    const reply = await within(answer, this.options.timeoutMs, undefined);
    if (reply === undefined)
      throw new Error(`Redis did not answer within ${this.options.timeoutMs} ms`);
    return { epoch: reply[0], seq: Number(reply[1]) };
  }

  /** A message on a topic's channel: decoded, then delivered in order (or held). */
  private onMessage(channel: string, raw: string): void {
    const prefix = channelPrefix(this.options.prefix);
    if (!channel.startsWith(prefix)) return;
    const message = decodeMessage(raw);
    if (message === undefined) return;
    const delivered = this.publisher.echo(message.origin);
    const { seq, epoch, event } = message;
    this.recovery.receive({ topic: channel.slice(prefix.length), seq, epoch, event, delivered });
  }
}

/**
 * A Redis backplane for {@link EventBroker}: every broker created with one (in
 * any process, on the same Redis and prefix) shares one topic space, one event
 * order, and one history, so a client resumes with `Last-Event-ID` on any
 * process.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 * import { redisBackplane } from "@burrow/sse-redis";
 *
 * const broker = new EventBroker({
 *   historySize: 100,
 *   backplane: redisBackplane({ url: process.env.REDIS_URL }),
 * });
 * ```
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): RedisBackplane {
  return new RedisBackplane(options);
}
