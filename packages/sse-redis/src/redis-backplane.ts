import { type Backplane, SSEOptionError } from "@burrow/sse-core";
import type { BackplanePresence, OrderCounters, PresenceHost } from "@burrow/sse-core/adapter";
import { channelPrefix, decodeMessages, orderedEvent } from "./codec.js";
import { readHistory } from "./history-reader.js";
import { Link } from "./link.js";
import type { RedisBackplaneOptions } from "./options.js";
import { RedisPresence } from "./presence-store.js";
import type { Publisher, PublishTarget } from "./publisher.js";
import { Recovery } from "./recovery.js";
import { RedisBackplaneBase } from "./redis-backplane-base.js";
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
 * {@link Replayer} (resumes, a topic's latest event, the head); what it
 * does the same as the cluster mode is in {@link RedisBackplaneBase}.
 */
export class RedisBackplane extends RedisBackplaneBase implements Backplane {
  protected readonly link: Link;
  private readonly subscriptions: Subscriptions;
  protected readonly publisher: Publisher;
  private readonly recovery: Recovery;
  protected readonly replayer: Replayer;
  private presenceStore: RedisPresence | undefined;

  /** @param options - see {@link RedisBackplaneOptions}. */
  constructor(options: RedisBackplaneOptions = {}) {
    super(options);
    if (this.options.cluster !== undefined) {
      throw new SSEOptionError(
        "cluster",
        "is for redisBackplane({ cluster }) or new RedisClusterBackplane({ cluster }): RedisBackplane runs on one Redis",
        options.cluster,
      );
    }
    const { logger, prefix } = this.options;
    const safeUrl = redactUrl(this.options.url);
    this.link = new Link(this.options, safeUrl, {
      connected: () => this.sync(),
      subscriberClosed: () => this.subscriptions.lost(),
      message: (channel, raw) => this.onMessage(channel, raw),
      changed: (state) => this.linkChanged(state),
      localOnlySinceDown: () => this.publisher.localOnlySinceDown,
    });
    this.subscriptions = new Subscriptions(this.link, prefix);
    const site = singleRedisSite(this.link, this.subscriptions, prefix);
    this.replayer = new Replayer(this.link, site, this.options);
    this.publisher = this.newPublisher(safeUrl);
    this.recovery = new Recovery(
      { logger, safeUrl },
      {
        deliver: (topic, event, seq) => this.host!.deliver(topic, event, seq),
        echo: (origin) => this.publisher.echo(origin),
        lost: (topics) => this.host?.lost?.(topics),
      },
    );
  }

  /** Where publishes go now: the command connection (the link is ready). */
  protected target(echoed: boolean): PublishTarget {
    const historySize = this.host!.historySize;
    return { command: this.link.command!, prefix: this.options.prefix, historySize, echoed };
  }

  /** Whether `topic`'s channel is subscribed now. */
  protected isLive(topic: string): boolean {
    return this.subscriptions.isLive(topic);
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

  /** The order's counters: the subscriber's messages and catch-ups, and presence's sweeps. */
  protected orderStats(): OrderCounters {
    const { recovery } = this;
    return {
      received: recovery.received,
      recovered: recovery.recovered,
      gaps: recovery.gaps,
      topics: this.subscriptions.size,
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

  /** Stops the catch-up and the subscriptions; resolves once presence's connection is closed. */
  protected closeParts(): Promise<void> | undefined {
    this.recovery.close();
    this.subscriptions.clear();
    return this.presenceStore?.close();
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

  /** A message on a topic's channel: decoded, then each of its events delivered in order (or held). */
  private onMessage(channel: string, raw: string): void {
    const prefix = channelPrefix(this.options.prefix);
    if (!channel.startsWith(prefix)) return;
    const topic = channel.slice(prefix.length);
    for (const message of decodeMessages(raw) ?? []) {
      this.recovery.receive(orderedEvent(topic, message, this.publisher.delivered(message)));
    }
  }
}
