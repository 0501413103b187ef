import type { Backplane } from "../backplane/backplane.js";
import type { Client } from "../delivery/client.js";
import { FlushScheduler } from "../delivery/flush.js";
import type { RepairHost } from "../delivery/repairs.js";
import { Subscription } from "../delivery/subscription.js";
import type { SubscriptionHost } from "../delivery/subscription-host.js";
import type { Presence } from "../presence/presence.js";
import type { PresenceIdentity } from "../presence/presence-options.js";
import type { BrokerCounters } from "./broker-stats.js";
import { type CloseReason, notify, type Observers } from "./observer.js";
import { TopicIndex } from "./topic-index.js";
import { WrappedTopics } from "./wrapped-topics.js";

/**
 * The clients of one broker, from subscribe to end: each joins its topics
 * (and, as a member, their presence) and leaves them when it ends, counted
 * and told to the observers. The host of their subscriptions: their
 * flushes, their end when they leave or fall behind, their drain timing.
 * @internal
 */
export class Subscribers implements SubscriptionHost {
  readonly flusher = new FlushScheduler();
  /** The clients of each topic. */
  readonly index: TopicIndex;
  /** Topics a client now receives wrapped in `<hx-partial>`: publish refuses data that would escape it. */
  readonly wrapped = new WrappedTopics();
  private readonly all = new Set<Subscription>();
  /** Renders repairs; none while the broker has no topic rules (set once, by the broker). */
  repairer: RepairHost | undefined;

  constructor(
    backplane: Backplane | undefined,
    private readonly roster: Presence,
    private readonly counters: BrokerCounters,
    private readonly observers: Observers,
  ) {
    this.index = new TopicIndex(backplane);
  }

  /** Clients connected now. */
  get size(): number {
    return this.all.size;
  }

  /** `client` joins: listed, a presence member if it is one, counted, observed, then under each of its topics. */
  add(client: Subscription, member: PresenceIdentity | undefined, lastEventId?: string): void {
    this.all.add(client);
    if (member !== undefined) this.roster.join(client, member);
    this.counters.opened++;
    const observers = this.observers.list;
    if (observers.length > 0) notify(observers, "opened", client, { lastEventId });
    this.index.add(client);
  }

  /** Removes `client` from every topic and ends it, discarding what it had queued. Idempotent. */
  end(client: Client, reason: CloseReason): void {
    if (!(client instanceof Subscription) || !this.all.delete(client)) return;
    this.index.remove(client);
    this.wrapped.remove(client);
    this.roster.leave(client);
    client.close(true);
    this.counters.closed[reason]++;
    this.observers.notify("closed", client, reason);
  }

  /** Ends every client, letting HTTP streams flush what is queued first (the broker closed). */
  endAll(): void {
    const clients = [...this.all];
    this.all.clear();
    this.index.clear();
    this.wrapped.clear();
    this.roster.clear();
    for (const client of clients) {
      client.close(false);
      this.counters.closed.shutdown++;
      this.observers.notify("closed", client, "shutdown");
    }
  }

  endClient(client: Subscription, reason: "client" | "slow"): void {
    if (reason === "client") {
      this.end(client, "client");
      return;
    }
    this.counters.slowDisconnects++;
    // Not now: publish is iterating the topic's clients.
    queueMicrotask(() => this.end(client, "slow"));
  }

  timesDrains(): boolean {
    return this.observers.list.length > 0;
  }

  drained(client: Subscription, seconds: number): void {
    this.observers.notify("drained", client, seconds);
  }
}
