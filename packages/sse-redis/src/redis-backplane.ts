import { type Backplane, type SSEEvent, SSEOptionError } from "@burrow/sse-core";
import {
  type BackplaneEvent,
  type BackplaneHost,
  type BackplanePresence,
  type BackplaneReplay,
  type PresenceHost,
  stallCheckMs,
} from "@burrow/sse-core/adapter";
import { channelPrefix, decodeMessage } from "./codec.js";
import { readHistory } from "./history-reader.js";
import { Link } from "./link.js";
import { type RedisBackplaneOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { RedisPresence } from "./presence-store.js";
import { Publisher, type PublishTarget } from "./publisher.js";
import type { ReadyOptions } from "./readiness.js";
import { Recovery } from "./recovery.js";
import type { RedisBackplaneStats } from "./redis-backplane-stats.js";
import { redactUrl } from "./redis-url.js";
import { Replayer, singleRedisSite } from "./replayer.js";
import { Subscriptions } from "./subscriptions.js";

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
 * {@link Replayer} (resumes, a topic's latest event, the head).
 */
export class RedisBackplane implements Backplane {
  private readonly options: ResolvedOptions;
  private host: BackplaneHost | undefined;
  private readonly link: Link;
  private readonly subscriptions: Subscriptions;
  private readonly publisher: Publisher;
  private readonly recovery: Recovery;
  private readonly replayer: Replayer;
  private presenceStore: RedisPresence | undefined;

  /** @param options - see {@link RedisBackplaneOptions}. */
  constructor(options: RedisBackplaneOptions = {}) {
    this.options = resolveOptions(options);
    if (this.options.cluster !== undefined) {
      throw new SSEOptionError(
        "cluster",
        "is for redisBackplane({ cluster }) or new RedisClusterBackplane({ cluster }): RedisBackplane runs on one Redis",
        options.cluster,
      );
    }
    const { logger, maxPending, prefix } = this.options;
    const safeUrl = redactUrl(this.options.url);
    this.link = new Link(this.options, safeUrl, {
      connected: () => this.sync(),
      subscriberClosed: () => this.subscriptions.lost(),
      message: (channel, raw) => this.onMessage(channel, raw),
      changed: (state) => {
        if (state === "down") {
          // Their replays would wait for a Redis that is not there: misses, now.
          this.replayer.flush();
          this.publisher.down();
        }
        if (state === "ready") this.publisher.ready(this.target(false));
      },
      localOnlySinceDown: () => this.publisher.localOnlySinceDown,
    });
    this.subscriptions = new Subscriptions(this.link, prefix);
    const site = singleRedisSite(this.link, this.subscriptions, prefix);
    this.replayer = new Replayer(this.link, site, this.options);
    this.publisher = new Publisher(
      { maxPending, checkMs: stallCheckMs(this.options.timeoutMs), logger, safeUrl },
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
        lost: (topics) => this.host?.lost?.(topics),
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
    const state = this.link.state;
    if (this.host === undefined || state === "closed") return;
    if (state !== "ready") this.publisher.deliverHere(topic, event);
    else this.publisher.send(this.target(this.subscriptions.isLive(topic)), topic, event);
  }

  /** Where publishes go now: the command connection (the link is ready). */
  private target(echoed: boolean): PublishTarget {
    const historySize = this.host!.historySize;
    return { command: this.link.command!, prefix: this.options.prefix, historySize, echoed };
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
   * {@link Backplane.replay}), in pages, through reads shared with the other
   * resumes of its topics (at most `maxReplays` reads at a time, fewer while
   * Redis answers slowly); nothing is read for it once `signal` aborts (the
   * client left). A miss (undefined) when Redis is down or does not answer
   * within `timeoutMs`.
   */
  replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    this.publisher.flush(); // What was published before is ordered before the read.
    return this.replayer.replay(topics, lastEventId, this.host?.historySize ?? 0, signal);
  }

  /**
   * The latest event `topic`'s stream holds (see {@link Backplane.last}),
   * read once its SUBSCRIBE is answered; undefined without history, while
   * Redis is not ready, or past `timeoutMs`.
   */
  last(topic: string, signal?: AbortSignal): Promise<BackplaneEvent | undefined> {
    this.publisher.flush();
    return this.replayer.last(topic, this.host?.historySize ?? 0, signal);
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
      this.publisher.flush();
      const { epoch, seq } = await this.replayer.head(
        this.options.prefix,
        this.publisher.newEpoch(),
      );
      return `${epoch}-${seq}`;
    } catch {
      return undefined;
    }
  }

  /**
   * Resolves once the link is ready (at once if it is): call it after
   * `new EventBroker({ backplane })`, which connects, to fail fast at
   * startup. Rejects with core's `SSEBackplaneError` of kind
   * `"configuration"` as soon as Redis answers a connection's setup with an
   * error (wrong password, `NOAUTH`, a database past its `databases`, an ACL
   * that forbids a command; `cause`: Redis's error; the backplane keeps
   * retrying), `"timeout"` after `timeoutMs` (default 10 000; `Infinity`
   * waits), or `"closed"` when `close()` comes first.
   *
   * @example
   * ```ts
   * const broker = new EventBroker({ historySize: 100, backplane });
   * await backplane.ready({ timeoutMs: 5000 }); // throws SSEBackplaneError
   * ```
   */
  ready(options?: ReadyOptions): Promise<void> {
    return this.link.ready(options);
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
      replays: this.replayer.size,
      replaysSkipped: this.replayer.skipped,
      replayReads: this.replayer.reads,
      replayLimit: this.replayer.limit.current,
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
    this.replayer.flush();
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
      this.host!.historySize > 0
        ? () => this.replayer.head(this.options.prefix, this.publisher.newEpoch())
        : undefined,
    );
  }

  /** A message on a topic's channel: decoded, then delivered in order (or held). */
  private onMessage(channel: string, raw: string): void {
    const prefix = channelPrefix(this.options.prefix);
    if (!channel.startsWith(prefix)) return;
    const message = decodeMessage(raw);
    if (message === undefined) return;
    const { seq, epoch, event, gap = false } = message;
    const delivered = this.publisher.delivered(message);
    const topic = channel.slice(prefix.length);
    this.recovery.receive({ topic, seq, epoch, event, delivered, gap });
  }
}
