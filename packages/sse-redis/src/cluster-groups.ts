/**
 * The order groups of a backplane on a Redis Cluster (see `cluster-keys.ts`):
 * for each, the topics watched and subscribed (by SSUBSCRIBE, on the
 * subscriber connection of the master that owns the group's slot), and its
 * own order (core's `OrderedDelivery`: its epoch and seq, and its catch-up
 * after its subscription was cut). Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { type MissedEvent, OrderedDelivery } from "@burrow/sse-core/adapter";
import { groupOf, groupPrefix, keySlot } from "./cluster-keys.js";
import type { ClusterLink, NodeSubscriber } from "./cluster-link.js";
import { topicKeys } from "./codec.js";

/** One order group: its keys' prefix and slot, its topics, its subscription and its order. */
export interface ClusterGroup {
  readonly name: string;
  /** `<prefix>{<group>}:`: the single-Redis keys of its topics under it. */
  readonly prefix: string;
  readonly slot: number;
  /** Watched topics, and the promise of their SSUBSCRIBE's answer. */
  readonly topics: Map<string, Promise<unknown> | undefined>;
  /** Watched topics whose SSUBSCRIBE was answered on the current subscriber. */
  readonly live: Set<string>;
  /** The connection its topics are subscribed on, while it is up. */
  subscriber: NodeSubscriber | undefined;
  readonly delivery: OrderedDelivery;
  /** Subscribed and caught up on the current subscriber. */
  synced: boolean;
}

/** What the {@link ClusterGroups} need around them. */
export interface ClusterGroupsHooks {
  deliver(topic: string, event: SSEEvent, seq: number): void;
  echo(origin: string): boolean;
  lost(topics: readonly string[]): void;
  /** How to read the group's head (epoch, last seq); undefined without history. */
  head(group: ClusterGroup): (() => Promise<{ epoch: string; seq: number }>) | undefined;
  /** The group's events of `topics` after `after` in `epoch`; undefined on a gap. */
  read(
    group: ClusterGroup,
    topics: readonly string[],
    epoch: string,
    after: number,
  ): Promise<readonly MissedEvent[] | undefined>;
  /** A catch-up could not read what was missed. */
  gap(): void;
}

/** The groups, by name, and the topic of each subscribed channel. Internal. */
export class ClusterGroups {
  private readonly groups = new Map<string, ClusterGroup>();
  private readonly channels = new Map<string, { topic: string; group: ClusterGroup }>();
  private readonly syncing = new Map<ClusterGroup, Promise<void>>();

  constructor(
    private readonly link: ClusterLink,
    private readonly prefix: string,
    private readonly hooks: ClusterGroupsHooks,
  ) {}

  /** The group of `topic`, created on first use. */
  of(topic: string): ClusterGroup {
    const name = groupOf(topic);
    let group = this.groups.get(name);
    if (group === undefined) {
      const prefix = groupPrefix(this.prefix, name);
      group = {
        name,
        prefix,
        slot: keySlot(`${prefix}meta`),
        topics: new Map(),
        live: new Set(),
        subscriber: undefined,
        delivery: new OrderedDelivery(this.hooks),
        synced: false,
      };
      this.groups.set(name, group);
    }
    return group;
  }

  /** Every group, for the counters. */
  all(): IterableIterator<ClusterGroup> {
    return this.groups.values();
  }

  /** Topics subscribed on the cluster now. */
  get size(): number {
    let size = 0;
    for (const group of this.groups.values()) size += group.live.size;
    return size;
  }

  /** Where a message on `channel` goes, if it is a watched topic's. */
  byChannel(channel: string): { topic: string; group: ClusterGroup } | undefined {
    return this.channels.get(channel);
  }

  /** Whether `topic`'s events come back to this process now. */
  isLive(topic: string): boolean {
    return this.groups.get(groupOf(topic))?.live.has(topic) ?? false;
  }

  /**
   * Settles once the SSUBSCRIBE of each of `topics` sent so far is answered,
   * or, for a topic whose group is catching up, once that catch-up ends.
   */
  answered(topics: readonly string[]): Promise<unknown> {
    return Promise.all(
      topics.map((topic) => {
        const group = this.of(topic);
        const catchUp = this.syncing.get(group)?.catch(() => {});
        return group.topics.get(topic) ?? catchUp;
      }),
    );
  }

  /** Watches `topic`: subscribed now if its group's subscriber is up, else at its catch-up. */
  watch(topic: string): ClusterGroup {
    const group = this.of(topic);
    if (group.topics.has(topic)) return group;
    group.topics.set(topic, undefined);
    this.channels.set(topicKeys(group.prefix, topic).channel, { topic, group });
    if (group.subscriber?.redis.status === "ready") this.subscribe(group, [topic]).catch(() => {});
    return group;
  }

  /** Stops watching `topic`. */
  unwatch(topic: string): void {
    const group = this.of(topic);
    if (!group.topics.delete(topic)) return;
    group.live.delete(topic);
    const channel = topicKeys(group.prefix, topic).channel;
    this.channels.delete(channel);
    const redis = group.subscriber?.redis;
    if (redis?.status === "ready") redis.sunsubscribe(channel).catch(() => {});
  }

  /** The subscriber connection to `node` closed: its groups are not subscribed any more. */
  nodeLost(node: string): void {
    for (const group of this.groups.values()) {
      if (group.subscriber?.node !== node) continue;
      group.subscriber = undefined;
      group.synced = false;
      group.live.clear();
    }
  }

  /** Groups with a watched topic that are not synced (nor syncing). */
  unsynced(): ClusterGroup[] {
    return [...this.groups.values()].filter(
      (group) => group.topics.size > 0 && !group.synced && !this.syncing.has(group),
    );
  }

  /** Whether every group with a watched topic is synced. */
  allSynced(): boolean {
    for (const group of this.groups.values()) {
      if (group.topics.size > 0 && !group.synced) return false;
    }
    return true;
  }

  /**
   * Catches `group` up (see core's `OrderedDelivery.catchUp`): its head
   * first (once), its topics subscribed on its slot's master now, what was
   * published since read back, then the live events held meanwhile.
   * Rejects with a step's error.
   */
  sync(group: ClusterGroup): Promise<void> {
    const running = this.syncing.get(group);
    if (running !== undefined) return running;
    const caughtUp = group.delivery
      .catchUp({
        head: this.hooks.head(group),
        subscribe: async () => {
          const subscriber = await this.link.subscriberFor(group.slot);
          group.subscriber = subscriber;
          const topics = [...group.topics.keys()];
          if (topics.length > 0) await this.subscribe(group, topics);
          return group.subscriber === subscriber && subscriber.redis.status === "ready"
            ? topics
            : undefined;
        },
        read: (topics, epoch, after) => this.hooks.read(group, topics, epoch, after),
        up: () => group.subscriber?.redis.status === "ready",
        synced: () => {
          group.synced = true;
        },
        gap: () => this.hooks.gap(),
      })
      .finally(() => this.syncing.delete(group));
    this.syncing.set(group, caughtUp);
    return caughtUp;
  }

  /** Forgets every topic (the backplane closes). */
  clear(): void {
    for (const group of this.groups.values()) {
      group.delivery.close();
      group.topics.clear();
      group.live.clear();
    }
    this.channels.clear();
  }

  /** SSUBSCRIBEs `topics` of `group` on its subscriber; settles when answered. */
  private subscribe(group: ClusterGroup, topics: readonly string[]): Promise<unknown> {
    const subscriber = group.subscriber!;
    const channels = topics.map((topic) => topicKeys(group.prefix, topic).channel);
    const answer = subscriber.redis.ssubscribe(...channels).then(() => {
      if (group.subscriber !== subscriber) return;
      for (const topic of topics) if (group.topics.has(topic)) group.live.add(topic);
    });
    for (const topic of topics) {
      if (group.topics.has(topic)) group.topics.set(topic, answer);
    }
    return answer;
  }
}
