import type { Backplane, BackplaneStats } from "../backplane/backplane.js";
import type { RepairReason } from "../wire/topic-policy.js";
import type { CloseReason, RefusalReason } from "./observer.js";

/** Plain counts describing a broker; more fields may follow. */
export interface BrokerStats {
  /** Clients connected now. */
  clients: number;
  /** Topics with at least one client now. */
  topics: number;
  /** `publish()` calls that were accepted, ever. */
  published: number;
  /** Events handed to clients (written or queued), ever. */
  delivered: number;
  /** Events lost to full buffers, ever. */
  dropped: number;
  /** Subscriptions that resumed from history after their `lastEventId`, ever. */
  resumed: number;
  /** Subscriptions whose `lastEventId` was unknown or evicted (history on), ever. */
  resumeMisses: number;
  /** Clients ended because they fell behind (policy `"disconnect"`), ever. */
  slowDisconnects: number;
  /**
   * Events of state topics that took the place of an older one of their
   * topic still queued for a slow client (nothing lost), ever.
   */
  conflated: number;
  /**
   * Snapshots (and state topics' latest events) sent to a client instead of
   * the events it missed, ever, by why (see {@link RepairReason}).
   */
  snapshots: Record<RepairReason, number>;
  /**
   * Snapshot renders started (a topic policy's `snapshot`, or a handler's
   * own for one connection), ever, failed ones included. One render serves
   * every client waiting when it starts, and a topic's last one is sent
   * again to later clients (see `TopicPolicy.snapshotReuseMs`), so
   * `snapshots` exceeds it by the snapshots sent without a render of their
   * own (and by state topics' latest events, which are never rendered).
   */
  snapshotRenders: number;
  /** Snapshot renders that threw, rejected, timed out or returned no string, ever. */
  snapshotFailures: number;
  /** Clients subscribed (streams opened), ever. */
  opened: number;
  /** Clients ended, ever, by why (see {@link CloseReason}). */
  closed: Record<CloseReason, number>;
  /** Requests a handler refused before subscribing them, ever, by why (see {@link RefusalReason}). */
  refused: Record<RefusalReason, number>;
  /** Presence members now, counted once per topic they are on. */
  members: number;
  /** The backplane's state and counters, when the broker has one. */
  backplane?: BackplaneStats;
}

/**
 * What happened on one broker, ever: the counts of its {@link BrokerStats},
 * kept by whoever acts (the broker, its fan-out, its resumes). @internal
 */
export class BrokerCounters {
  published = 0;
  delivered = 0;
  dropped = 0;
  resumed = 0;
  resumeMisses = 0;
  slowDisconnects = 0;
  conflated = 0;
  readonly snapshots: Record<RepairReason, number> = {
    miss: 0,
    restart: 0,
    overflow: 0,
    connect: 0,
  };
  snapshotRenders = 0;
  snapshotFailures = 0;
  opened = 0;
  readonly closed: Record<CloseReason, number> = { client: 0, slow: 0, shutdown: 0 };
  readonly refused: Record<RefusalReason, number> = {
    limit: 0,
    authorize: 0,
    bad_request: 0,
    error: 0,
  };

  /** These counts, with what the broker holds now, as {@link BrokerStats}. */
  stats(clients: number, topics: number, members: number, backplane?: Backplane): BrokerStats {
    return {
      clients,
      topics,
      published: this.published,
      delivered: this.delivered,
      dropped: this.dropped,
      resumed: this.resumed,
      resumeMisses: this.resumeMisses,
      slowDisconnects: this.slowDisconnects,
      conflated: this.conflated,
      snapshots: { ...this.snapshots },
      snapshotRenders: this.snapshotRenders,
      snapshotFailures: this.snapshotFailures,
      members,
      opened: this.opened,
      closed: { ...this.closed },
      refused: { ...this.refused },
      ...(backplane === undefined ? {} : { backplane: backplane.stats() }),
    };
  }
}
