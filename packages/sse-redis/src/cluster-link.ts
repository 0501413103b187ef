/**
 * The link to a Redis Cluster: the {@link Link}'s state machine, logs and
 * `ready()`, over an ioredis `Cluster` client for commands (each script
 * routed to the master of its keys' slot) and one subscriber connection per
 * master that owns a slot of a watched topic (sharded pub/sub: `SSUBSCRIBE`
 * is served by the slot's master only), every connection watched for a hang. A subscriber connection is never
 * reconnected in place: when it closes (its master died or hung), the
 * backplane is told which node it was, and asks again for the slot's
 * current master (after a failover, the promoted replica). Internal.
 */
import type { BackplaneReport } from "@burrow/sse-core";
import { Cluster, type ClusterNode, Redis } from "ioredis";
import { Link, type LinkHooks } from "./link.js";
import type { ResolvedOptions } from "./options.js";
import { defineScripts, PUBLISH_SCRIPT } from "./scripts.js";
import { isConfigurationError } from "./setup-guard.js";
import { Watchdog } from "./watchdog.js";

/** What the {@link ClusterLink} tells the backplane, beyond the {@link LinkHooks}. */
export interface ClusterLinkHooks extends LinkHooks {
  /** The subscriber connection to `node` closed: the groups subscribed there are not any more. */
  nodeLost(node: string): void;
}

/** The publish script on a cluster: the same, with the event sent by SPUBLISH to the slot's shard. */
export const CLUSTER_PUBLISH_SCRIPT = PUBLISH_SCRIPT.replaceAll(
  "redis.call('PUBLISH',",
  "redis.call('SPUBLISH',",
);

/** A master's subscriber connection, once ready. */
export interface NodeSubscriber {
  /** `host:port` of the master. */
  node: string;
  redis: Redis;
}

/** The connections to a Redis Cluster and the link's state. Internal. */
export class ClusterLink extends Link {
  /** The cluster client the commands go through. */
  cluster: Cluster | undefined;
  private readonly subscribers = new Map<string, Promise<NodeSubscriber>>();
  private readonly watchdogs = new Map<Redis, Watchdog>();

  constructor(
    options: ResolvedOptions,
    safeUrl: string,
    private readonly clusterHooks: ClusterLinkHooks,
  ) {
    super(options, safeUrl, clusterHooks);
  }

  /** Opens the cluster client (unless closed already); state changes go to `report`. */
  override connect(report?: (report: BackplaneReport) => void): void {
    this.report = report;
    if (this.state === "closed") return;
    const { nodes, options } = this.options.cluster!;
    const cluster = new Cluster(nodes as ClusterNode[], {
      ...options,
      lazyConnect: false,
      // Without its offline queue, ioredis's cluster client retries the commands sent while a
      // master's connection is still opening, out of order (a burst's publishes got reordered).
      // The backplane sends nothing while the link is not ready, so nothing waits for an outage.
      enableOfflineQueue: true,
      // A command whose master's connection closed (it died, or hung and its watchdog closed
      // it) is not sent again: the publisher delivers a publish here instead, not twice, and a
      // read is a miss, as with one server; retried, it waited up to 16 times for that master.
      retryDelayOnFailover: 0,
      scaleReads: "master",
      redisOptions: {
        ...this.options.redis,
        ...options.redisOptions,
        connectionName: `${this.connectionName()}-pub`,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
      },
    });
    // The scripts' calls are the same on a cluster client (routed by their first key's slot);
    // the publish script's events go out by SPUBLISH.
    this.command = defineScripts(cluster as unknown as Redis);
    cluster.defineCommand("ssePublish", { numberOfKeys: 3, lua: CLUSTER_PUBLISH_SCRIPT });
    this.cluster = cluster;
    cluster.on("ready", () => {
      this.commandReady = true;
      this.hooks.connected();
    });
    cluster.on("close", () => {
      this.commandReady = false;
      this.update();
    });
    cluster.on("error", (error: Error) => {
      const cause = (error as { lastNodeError?: Error }).lastNodeError ?? error;
      if (isConfigurationError(cause)) this.refuse(cause);
      else this.fail(cause);
    });
    const { timeoutMs } = this.options;
    // Each master's command connection is watched too: ioredis waits for ever for the
    // publishes and reads sent to a master that hangs.
    const watch = (redis: Redis): void => {
      this.watchdogs.set(redis, new Watchdog(redis, timeoutMs, this.onHang));
    };
    cluster.on("+node", watch);
    cluster.on("-node", (redis: Redis) => this.watchdogs.delete(redis));
    for (const redis of cluster.nodes()) watch(redis);
    this.watchdogTimer = setInterval(
      () => {
        const now = Date.now();
        for (const watchdog of this.watchdogs.values()) watchdog.check(now);
      },
      Math.max(1, Math.floor(timeoutMs / 4)),
    );
    this.watchdogTimer.unref();
  }

  /** A connection found hung by its watchdog (closed next): counted, and the link goes down. */
  private readonly onHang = (error: Error): void => {
    this.timeouts++;
    this.hung = true;
    this.lastError = error;
  };

  /** Always true: each group's subscription is the backplane's to track (it clears `synced`). */
  override get subscriberUp(): boolean {
    return true;
  }

  /** The master that owns `slot` in the client's slot map (`host:port`), if known. */
  ownerOf(slot: number): string | undefined {
    return this.cluster?.slots[slot]?.[0];
  }

  /** Asks the cluster for its slot map again (after a master was lost); settles when answered. */
  refreshSlots(): Promise<void> {
    const cluster = this.cluster;
    if (cluster === undefined) return Promise.resolve();
    return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));
  }

  /**
   * The subscriber connection of the master that owns `slot` now (the slot
   * map refreshed first), opened if need be; rejects when it cannot be
   * opened (the master is down: the slot map will change).
   */
  async subscriberFor(slot: number): Promise<NodeSubscriber> {
    await this.refreshSlots();
    const node = this.ownerOf(slot);
    if (node === undefined) throw new Error(`no master serves slot ${slot} (cluster down?)`);
    let subscriber = this.subscribers.get(node);
    if (subscriber === undefined) {
      subscriber = this.openSubscriber(node);
      this.subscribers.set(node, subscriber);
      subscriber.catch(() => this.subscribers.delete(node));
    }
    return subscriber;
  }

  /** Opens a subscriber connection to `node`, resolved once ready; never reconnected in place. */
  private openSubscriber(node: string): Promise<NodeSubscriber> {
    const colon = node.lastIndexOf(":");
    const redis = new Redis({
      ...this.options.redis,
      ...this.options.cluster!.options.redisOptions,
      host: node.slice(0, colon),
      port: Number(node.slice(colon + 1)),
      connectionName: `${this.connectionName()}-sub`,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      retryStrategy: () => null,
    });
    const watchdog = new Watchdog(redis, this.options.timeoutMs, this.onHang);
    this.watchdogs.set(redis, watchdog);
    redis.on("smessage", (channel: string, raw: string) => this.hooks.message(channel, raw));
    return new Promise((resolve, reject) => {
      let ready = false;
      redis.on("ready", () => {
        ready = true;
        resolve({ node, redis });
      });
      redis.on("error", (error: Error) => {
        if (ready && !watchdog.closedCurrent) this.fail(error);
      });
      redis.on("close", () => {
        this.watchdogs.delete(redis);
        redis.disconnect();
        if (!ready) {
          reject(new Error(`could not connect to the master at ${node}`));
          return;
        }
        if (this.subscribers.get(node) !== undefined) this.subscribers.delete(node);
        this.clusterHooks.nodeLost(node);
      });
    });
  }

  /** Closes the cluster client and every subscriber connection. Idempotent. */
  override async close(): Promise<void> {
    const subscribers = [...this.subscribers.values()];
    this.subscribers.clear();
    await super.close();
    for (const subscriber of subscribers) {
      subscriber.then(({ redis }) => redis.disconnect()).catch(() => {});
    }
  }

  private connectionName(): string {
    return this.options.redis.connectionName ?? "burrow-sse";
  }
}
