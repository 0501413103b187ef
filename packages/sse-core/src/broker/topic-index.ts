import type { Backplane } from "../backplane/backplane.js";
import type { Subscription } from "../delivery/subscription.js";

/**
 * The clients of each topic on one broker. A topic is listed while it has a
 * client; its first client has the backplane (if any) watch it, its last
 * one unwatch it. @internal
 */
export class TopicIndex {
  private readonly topics = new Map<string, Set<Subscription>>();
  /** Told when a topic's last client leaves (with or without a backplane). */
  left: ((topic: string) => void) | undefined;
  /** Told when the backplane stops watching a topic (what is known of it goes stale). */
  unwatched: ((topic: string) => void) | undefined;
  /** True for a topic kept on this process (never watched on the backplane); unset: none is. */
  kept: ((topic: string) => boolean) | undefined;

  constructor(private readonly backplane: Backplane | undefined) {}

  /** Topics with at least one client now. */
  get size(): number {
    return this.topics.size;
  }

  /** The clients of `topic` now; undefined when it has none. */
  clientsOf(topic: string): ReadonlySet<Subscription> | undefined {
    return this.topics.get(topic);
  }

  /** Lists `client` under each of its topics. */
  add(client: Subscription): void {
    for (const topic of client.topics) {
      let set = this.topics.get(topic);
      if (set === undefined) {
        set = new Set();
        this.topics.set(topic, set);
        if (this.kept?.(topic) !== true) this.backplane?.watch(topic);
      }
      set.add(client);
    }
  }

  /** Removes `client` from each of its topics. */
  remove(client: Subscription): void {
    for (const topic of client.topics) {
      const set = this.topics.get(topic);
      if (set === undefined) continue;
      set.delete(client);
      if (set.size === 0) {
        this.topics.delete(topic);
        this.left?.(topic);
        if (this.backplane === undefined || this.kept?.(topic) === true) continue;
        this.backplane.unwatch(topic);
        this.unwatched?.(topic);
      }
    }
  }

  /** Forgets every topic (the broker closed; the backplane is closed with it). */
  clear(): void {
    this.topics.clear();
  }
}
