import { randomBytes } from "node:crypto";
import type { Backplane } from "@burrow/sse-core";
import { LinkLog, type OrderCounters } from "@burrow/sse-core/adapter";
import { ClusterGroups } from "./cluster-groups.js";
import { ClusterLink } from "./cluster-link.js";
import { ClusterReplaySite } from "./cluster-replay-site.js";
import { decodeMessages, orderedEvent } from "./codec.js";
import { readHistory } from "./history-reader.js";
import type { RedisBackplaneOptions } from "./options.js";
import { Publisher, type PublishTarget } from "./publisher.js";
import { RedisBackplaneBase } from "./redis-backplane-base.js";
import type { RedisBackplaneStats } from "./redis-backplane-stats.js";
import { Replayer } from "./replayer.js";

/**
 * The {@link Publisher}, with an epoch of its own for each group it starts
 * (random, not only the time and the process): ids of different groups
 * never share an epoch, so that a position in one group is never read as
 * one in another.
 */
class ClusterPublisher extends Publisher {
  override newEpoch(): string {
    return `${super.newEpoch()}${randomBytes(3).toString("hex")}`;
  }
}

/** What {@link RedisClusterBackplane.stats} reports: the single-Redis counters, and one more. */
export interface RedisClusterBackplaneStats extends RedisBackplaneStats {
  /** Resumes refused (misses) because the client's topics span several order groups, ever. */
  crossGroupResumes: number;
}

/**
 * The Redis {@link Backplane} on a Redis Cluster (Redis 7 or later): each
 * topic belongs to an order group (its hash tag, else the topic itself)
 * whose keys and sharded channel live in one hash slot; a Lua script on the
 * slot's master numbers each event in its group's order, appends it to its
 * topic's stream and SPUBLISHes it, in one atomic step, so that groups
 * spread over the masters. Every process receives each group's events in
 * that group's order, each once; a client resumes exactly when its topics
 * share one group (see the README's "Redis Cluster" section). Create it
 * with `redisBackplane({ cluster })`.
 */
export class RedisClusterBackplane extends RedisBackplaneBase implements Backplane {
  protected readonly link: ClusterLink;
  private readonly groups: ClusterGroups;
  protected readonly publisher: Publisher;
  protected readonly replayer: Replayer;
  private readonly site: ClusterReplaySite;
  private readonly log: LinkLog;
  private retryTimer: NodeJS.Timeout | undefined;

  /** @param options - see {@link RedisBackplaneOptions}; `cluster` is required. */
  constructor(options: RedisBackplaneOptions) {
    super(options);
    const { logger, prefix, cluster } = this.options;
    if (cluster === undefined) {
      throw new Error("sse-redis: RedisClusterBackplane needs the cluster option");
    }
    const safeUrl = cluster.label;
    this.log = new LinkLog(logger, "sse-redis", "Redis", safeUrl);
    this.link = new ClusterLink(this.options, safeUrl, {
      connected: () => this.sync(),
      subscriberClosed: () => {},
      nodeLost: (node) => {
        this.groups.nodeLost(node);
        this.link.synced = false;
        this.link.fail(new Error(`lost the connection to the master at ${node}`));
        this.retryLater();
      },
      message: (channel, raw) => this.onMessage(channel, raw),
      changed: (state) => this.linkChanged(state),
      localOnlySinceDown: () => this.publisher.localOnlySinceDown,
    });
    this.publisher = this.newPublisher(safeUrl, ClusterPublisher);
    this.groups = new ClusterGroups(this.link, prefix, {
      deliver: (topic, event, seq) => this.host!.deliver(topic, event, seq),
      echo: (origin) => this.publisher.echo(origin),
      lost: (topics) => this.host?.lost?.(topics),
      head: (group) =>
        (this.host?.historySize ?? 0) > 0
          ? () => this.replayer.head(group.prefix, this.publisher.newEpoch())
          : undefined,
      read: (group, topics, epoch, after) => {
        const limit = this.host!.historySize;
        if (limit === 0) return Promise.resolve(undefined);
        const redis = this.link.command!;
        return readHistory({ redis, prefix: group.prefix, topics, epoch, after, limit });
      },
      gap: () => this.log.gap("Redis lost its data, or history is off or too short"),
    });
    this.site = new ClusterReplaySite(this.groups);
    this.replayer = new Replayer(this.link, this.site, this.options);
  }

  /** Where publishes go now: the cluster client, each topic under its group's prefix. */
  protected target(echoed: boolean): PublishTarget {
    return {
      command: this.link.command!,
      prefix: this.options.prefix,
      prefixOf: (topic) => this.groups.of(topic).prefix,
      historySize: this.host!.historySize,
      echoed,
    };
  }

  /** SSUBSCRIBEs to `topic`'s channel on its slot's master (now, or at its group's catch-up). */
  watch(topic: string): void {
    const group = this.groups.watch(topic);
    if (this.link.state === "ready" && !group.synced) {
      this.groups
        .sync(group)
        .catch((error: Error) => {
          this.link.fail(error);
          this.retryLater();
        })
        .finally(() => this.link.update());
    }
  }

  /** SUNSUBSCRIBEs from `topic`'s channel. */
  unwatch(topic: string): void {
    this.groups.unwatch(topic);
  }

  /** Whether `topic` is subscribed on its group's master now. */
  protected isLive(topic: string): boolean {
    return this.groups.isLive(topic);
  }

  /** The link's state and counters, and the resumes refused across order groups. */
  override stats(): RedisClusterBackplaneStats {
    return { ...super.stats(), crossGroupResumes: this.site.crossGroup };
  }

  /** The groups' counters (each its own order); no presence on a cluster. */
  protected orderStats(): OrderCounters {
    let received = 0;
    let recovered = 0;
    let gaps = 0;
    for (const { delivery } of this.groups.all()) {
      received += delivery.received;
      recovered += delivery.recovered;
      gaps += delivery.gaps;
    }
    return { received, recovered, gaps, topics: this.groups.size, presenceSweeps: 0 };
  }

  /** Stops the next catch-up and forgets every group. */
  protected closeParts(): undefined {
    clearTimeout(this.retryTimer);
    this.groups.clear();
    return undefined;
  }

  /**
   * Once the cluster client is ready, and after each lost master: catches
   * up every group not synced (subscribed on its slot's master now, what it
   * missed read back), and reports ready once all are.
   */
  private sync(): void {
    if (!this.link.canSync()) {
      this.link.update();
      return;
    }
    Promise.all(this.groups.unsynced().map((group) => this.groups.sync(group)))
      .then(() => {
        if (this.groups.allSynced()) this.link.synced = true;
        else this.retryLater();
      })
      .catch((error: Error) => {
        this.link.fail(error);
        this.retryLater();
      })
      .finally(() => this.link.update());
  }

  /** Syncs again soon (a master was lost, or a catch-up failed: the slot map will change). */
  private retryLater(): void {
    if (this.retryTimer !== undefined || this.link.state === "closed") return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sync();
    }, 200);
    this.retryTimer.unref();
  }

  /** A message on a topic's sharded channel: decoded, then each of its events delivered in its group's order. */
  private onMessage(channel: string, raw: string): void {
    const target = this.groups.byChannel(channel);
    if (target === undefined) return;
    for (const message of decodeMessages(raw) ?? []) {
      const delivered = this.publisher.delivered(message);
      target.group.delivery.receive(orderedEvent(target.topic, message, delivered));
    }
  }
}
