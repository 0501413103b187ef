/**
 * What the Redis backplane does the same on one Redis and on a cluster: its
 * broker (`attach`), publishing through the {@link Publisher}, resumes
 * through the {@link Replayer}, `ready()`, the counters, and the steps of
 * `close()`. Each mode gives its link, where publishes go, which topics
 * come back live, its order's counters and what else it closes. Internal.
 */
import type { BackplaneState, SSEEvent } from "@burrow/sse-core";
import {
  type BackplaneEvent,
  type BackplaneHost,
  type BackplaneReplay,
  engineStats,
  type OrderCounters,
  stallCheckMs,
} from "@burrow/sse-core/adapter";
import type { Link } from "./link.js";
import { type RedisBackplaneOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { Publisher, type PublishTarget } from "./publisher.js";
import type { ReadyOptions } from "./readiness.js";
import type { RedisBackplaneStats } from "./redis-backplane-stats.js";
import type { Replayer } from "./replayer.js";

/** The Redis backplane's parts and steps common to both modes. Internal. */
export abstract class RedisBackplaneBase {
  protected readonly options: ResolvedOptions;
  protected host: BackplaneHost | undefined;
  protected abstract readonly link: Link;
  protected abstract readonly publisher: Publisher;
  protected abstract readonly replayer: Replayer;

  /** @param options - see {@link RedisBackplaneOptions}. */
  constructor(options: RedisBackplaneOptions) {
    this.options = resolveOptions(options);
  }

  /** Where publishes go now (the link is ready); `echoed`: the event comes back to this process. */
  protected abstract target(echoed: boolean): PublishTarget;
  /** Whether `topic` is subscribed now: its events come back to this process. */
  protected abstract isLive(topic: string): boolean;
  /** The counters of the mode's order. */
  protected abstract orderStats(): OrderCounters;
  /** Stops the mode's own parts; resolves once those closing in the background are closed. */
  protected abstract closeParts(): Promise<void> | undefined;

  /** Connects; called once by the broker. */
  attach(host: BackplaneHost): void {
    if (this.host !== undefined) {
      throw new Error("sse-redis: backplane: already attached to a broker; create one per broker");
    }
    this.host = host;
    this.link.connect((report) => host.report?.(report));
  }

  /** Orders `event` through Redis; while the link is not ready, delivers it on this process only. */
  publish(topic: string, event: SSEEvent): void {
    const state = this.link.state;
    if (this.host === undefined || state === "closed") return;
    if (state !== "ready") this.publisher.deliverHere(topic, event);
    else this.publisher.send(this.target(this.isLive(topic)), topic, event);
  }

  /**
   * Reads what `topics` retained after `lastEventId` (see
   * {@link Backplane.replay}), in pages, through reads shared with the other
   * resumes of its topics (at most `maxReplays` reads at a time, fewer while
   * Redis answers slowly); nothing is read for it once `signal` aborts (the
   * client left). A miss (undefined) when Redis is down or does not answer
   * within `timeoutMs`, and on a cluster when `topics` span several order groups.
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
    const { link, publisher, replayer } = this;
    return engineStats({ link, publisher, resumes: replayer, order: this.orderStats() });
  }

  /** Closes every connection. Idempotent; the broker's `close()` calls it. */
  async close(): Promise<void> {
    if (this.link.state === "closed") return;
    this.publisher.close();
    const parts = this.closeParts();
    this.replayer.flush();
    await this.link.close();
    await parts;
  }

  /** The publisher of this backplane (of class `Kind`), its hooks bound to the link and the broker. */
  protected newPublisher(safeUrl: string, Kind: typeof Publisher = Publisher): Publisher {
    const { maxPending, logger, timeoutMs } = this.options;
    return new Kind(
      { maxPending, checkMs: stallCheckMs(timeoutMs), logger, safeUrl },
      {
        deliverHere: (topic, event) => this.host!.deliver(topic, event, 0),
        failed: (error) => this.link.publishFailed(error),
        roundTrip: (seconds) => this.host?.report?.({ kind: "roundTrip", seconds }),
      },
    );
  }

  /** The link changed state: down, its resumes are misses and publishes stay here; ready, they go out. */
  protected linkChanged(state: BackplaneState): void {
    if (state === "down") {
      // Their replays would wait for a Redis that is not there: misses, now.
      this.replayer.flush();
      this.publisher.down();
    }
    if (state === "ready") this.publisher.ready(this.target(false));
  }
}
