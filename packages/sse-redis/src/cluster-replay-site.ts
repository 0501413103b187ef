/**
 * Where resumes read on a Redis Cluster (the `Replayer`'s seam): a topic's
 * range from its order group's keys (on the master of the group's slot),
 * and its barrier on that master's subscriber connection. A client's topics
 * resume exactly when they all belong to one order group (one topic, or
 * topics sharing a hash tag); topics of several groups have no common
 * order, so their resume is a miss (the broker repairs what it can and
 * tells the client). Internal.
 */
import type { Redis } from "ioredis";
import type { ClusterGroups } from "./cluster-groups.js";
import { groupOf } from "./cluster-keys.js";
import type { ReplaySite } from "./replayer.js";

/** The {@link ReplaySite} of a cluster backplane: its order groups. Internal. */
export class ClusterReplaySite implements ReplaySite {
  /** Resumes refused because their topics span several order groups, ever. */
  crossGroup = 0;

  constructor(private readonly groups: ClusterGroups) {}

  /** `<prefix>{<group>}:`: the prefix of `topic`'s group's keys. */
  prefixOf(topic: string): string {
    return this.groups.of(topic).prefix;
  }

  /** Settles once each of `topics` is subscribed (or its group's catch-up ended). */
  answered(topics: readonly string[]): Promise<unknown> {
    return this.groups.answered(topics);
  }

  /** Whether the group of each of `topics` is subscribed and caught up on its master. */
  synced(topics: readonly string[]): boolean {
    return topics.every((topic) => this.groups.of(topic).synced);
  }

  /** The subscriber connection to the master of `topics`' group, while it is up. */
  subscriber(topics: readonly string[]): Redis | undefined {
    return this.groups.of(topics[0]!).subscriber?.redis;
  }

  /** Replays of one order group share a PING to its master; other masters answer their own. */
  barrierGroup(topics: readonly string[]): string {
    return groupOf(topics[0]!);
  }

  /** Whether `topics` share one order group; a resume across groups is a miss, counted. */
  accepts(topics: readonly string[]): boolean {
    if (new Set(topics.map(groupOf)).size === 1) return true;
    this.crossGroup++;
    return false;
  }
}
