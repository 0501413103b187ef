/**
 * The link to Redis: its two connections (one for commands, one subscribed
 * to topic channels), their watchdogs and setup guards, and the state
 * machine that derives `"connecting"` / `"ready"` / `"down"` / `"closed"`
 * from them, reporting each change once and logging why it is not ready
 * once per cause (an outage, or each configuration error Redis answers);
 * and the `ready()` waits on it. Internal.
 */
import type { BackplaneReport, BackplaneState } from "@burrow/sse-core";
import { LinkLog, nextBackplaneState } from "@burrow/sse-core/adapter";
import { Redis } from "ioredis";
import type { ResolvedOptions } from "./options.js";
import { LinkReadiness, type ReadyOptions } from "./readiness.js";
import { defineScripts, type ScriptedRedis } from "./scripts.js";
import { isConfigurationError, refusalCause, refusalMessage, SetupGuard } from "./setup-guard.js";
import { Watchdog } from "./watchdog.js";
import { within } from "./within.js";

/** What the {@link Link} tells the backplane that composes it. */
export interface LinkHooks {
  /** A connection became ready: the subscriber may be synced now (see {@link Link.canSync}). */
  connected(): void;
  /** The subscriber's connection closed: its subscriptions are gone. */
  subscriberClosed(): void;
  /** A message arrived on a subscribed channel. */
  message(channel: string, raw: string): void;
  /** The state changed to `state` (called after the change is logged). */
  changed(state: BackplaneState, previous: BackplaneState): void;
  /** Events delivered on this process only since the link went down (for the reconnect line). */
  localOnlySinceDown(): number;
}

/** The two connections to Redis and the link's state. Internal. */
export class Link {
  /** The state now; changes only in {@link update} and {@link close}. */
  state: BackplaneState = "connecting";
  /**
   * The subscriber is connected, subscribed to every watched topic, and
   * caught up; set by the backplane's recovery, cleared when it closes.
   */
  synced = false;
  /** The connection for commands (publish, replay, latest), once connected. */
  command: ScriptedRedis | undefined;
  /** The connection subscribed to topic channels, once connected. */
  subscriber: Redis | undefined;
  /** The last error seen, if any. */
  lastError: Error | undefined;
  /**
   * The configuration error Redis refused the link with, while it is not
   * ready since (cleared by an outage's error, or by becoming ready).
   */
  refusal: Error | undefined;
  /** Times the link went down (or failed to come up), ever. */
  errors = 0;
  /** Connections closed by a watchdog because Redis did not answer, ever. */
  timeouts = 0;
  protected commandReady = false;
  /** A connection was found hung since the link was last ready. */
  protected hung = false;
  protected watchdogTimer: NodeJS.Timeout | undefined;
  /** The next catch-up after one Redis refused, and how many were refused in a row. */
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncs = 0;
  protected report: ((report: BackplaneReport) => void) | undefined;
  private readonly log: LinkLog;
  private readonly readiness: LinkReadiness;

  constructor(
    protected readonly options: ResolvedOptions,
    private readonly safeUrl: string,
    protected readonly hooks: LinkHooks,
  ) {
    this.log = new LinkLog(options.logger, "sse-redis", "Redis", safeUrl);
    this.readiness = new LinkReadiness(safeUrl, () => this);
  }

  /** Opens both connections (unless closed already); state changes go to `report`. */
  connect(report?: (report: BackplaneReport) => void): void {
    this.report = report;
    if (this.state === "closed") return;
    const base = this.options.redis;
    const name = base.connectionName ?? "burrow-sse";
    const common = {
      ...base,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
    };
    const command = defineScripts(
      new Redis(this.options.url, { ...common, connectionName: `${name}-pub` }),
    );
    const subscriber = new Redis(this.options.url, { ...common, connectionName: `${name}-sub` });
    this.command = command;
    this.subscriber = subscriber;

    const { timeoutMs } = this.options;
    const onHang = (error: Error): void => {
      this.timeouts++;
      this.hung = true;
      this.lastError = error;
      this.refusal = undefined;
    };
    const watchdogs = [command, subscriber].map((redis) => new Watchdog(redis, timeoutMs, onHang));
    const guards = [command, subscriber].map((redis) => new SetupGuard(redis));
    // What ioredis reports about a socket closed for a hang or a configuration error follows from it.
    const onError = (at: 0 | 1) => (error: Error) => {
      if (watchdogs[at]!.closedCurrent || guards[at]!.closedCurrent) this.update();
      else if (guards[at]!.refuses(error)) this.refuse(error);
      else this.fail(error);
    };
    command.on("ready", () => {
      this.commandReady = true;
      this.hooks.connected();
    });
    command.on("close", () => {
      this.commandReady = false;
      this.update();
    });
    command.on("error", onError(0));
    subscriber.on("ready", () => this.hooks.connected());
    subscriber.on("close", () => {
      this.synced = false;
      this.hooks.subscriberClosed();
      this.update();
    });
    subscriber.on("error", onError(1));
    subscriber.on("message", (channel: string, raw: string) => this.hooks.message(channel, raw));
    this.watchdogTimer = setInterval(
      () => {
        const now = Date.now();
        for (const watchdog of watchdogs) watchdog.check(now);
      },
      Math.max(1, Math.floor(timeoutMs / 4)),
    );
    this.watchdogTimer.unref();
  }

  /** Whether the subscriber's connection is up (its subscriptions may be sent). */
  get subscriberUp(): boolean {
    return this.subscriber?.status === "ready";
  }

  /** Whether both connections are up and the subscriber is not synced yet. */
  canSync(): boolean {
    return this.state !== "closed" && this.commandReady && this.subscriberUp && !this.synced;
  }

  /**
   * Records `error` as the last one, and recomputes the state. An error
   * answer while the link is not ready (its catch-up refused) is a
   * configuration error; any other error is an outage's.
   */
  fail(error: Error): void {
    if (this.state !== "ready" && isConfigurationError(error)) {
      this.refuse(error);
      this.resyncLater();
      return;
    }
    this.lastError = error;
    this.refusal = undefined;
    this.update();
  }

  /** Redis refused the configuration with `error`: recorded, logged once, and told to `ready()`. */
  refuse(error: Error): void {
    this.lastError = error;
    this.refusal = error;
    this.update();
  }

  /**
   * Retries a catch-up Redis refused (its connections stay up, so ioredis
   * retries nothing) after the delay of the `retryStrategy` in the redis
   * options (ioredis's default: 50 ms per attempt, at most 2 s); none when it
   * returns no number.
   */
  private resyncLater(): void {
    if (this.resyncTimer !== undefined || this.state === "closed") return;
    const strategy = this.options.redis.retryStrategy ?? ((times) => Math.min(times * 50, 2000));
    const delay = strategy(++this.resyncs);
    if (typeof delay !== "number") return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.hooks.connected();
    }, delay);
    this.resyncTimer.unref();
  }

  /** See {@link RedisBackplane.ready}. */
  ready(options?: ReadyOptions): Promise<void> {
    return this.readiness.wait(options);
  }

  /**
   * A publish failed with `error`: after a hang, its cause stays the last
   * error rather than each publish it failed; on a lost connection, says so.
   */
  publishFailed(error: Error): void {
    if (this.hung) {
      this.update();
      return;
    }
    const status = this.command?.status;
    this.fail(status === "ready" ? error : new Error(`connection lost (${status})`));
  }

  /**
   * Recomputes the state; reports a change once, and logs why the link is
   * down once per cause; settles the `ready()` waits that have a verdict.
   */
  update(): void {
    if (this.state === "closed") return;
    const next = nextBackplaneState(
      this.state,
      this.commandReady && this.synced && this.subscriberUp,
      this.lastError !== undefined,
    );
    const previous = this.state;
    this.state = next;
    if (next === "down") this.logDown();
    if (next !== previous) {
      if (next === "down") this.errors++;
      if (next === "ready") {
        this.hung = false;
        this.refusal = undefined;
        this.resyncs = 0;
        this.log.ready();
        if (previous === "down") this.log.reconnected(this.hooks.localOnlySinceDown());
      }
      this.changed(next, previous);
    }
    this.readiness.check();
  }

  /**
   * Why the link is down, logged once per cause until it is ready again:
   * each configuration error Redis answers, or an outage.
   */
  private logDown(): void {
    const refusal = this.refusal;
    if (refusal === undefined) {
      this.log.unreachable(this.lastError?.message ?? "connection closed");
      return;
    }
    this.log.once(
      `refused: ${refusalCause(refusal)}`,
      `${refusalMessage(this.safeUrl, refusal)}; retrying, and meanwhile events published on this process reach its own clients only`,
    );
  }

  /** Closes both connections, waiting at most `timeoutMs` for Redis to acknowledge. Idempotent. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    const previous = this.state;
    this.state = "closed";
    clearInterval(this.watchdogTimer);
    clearTimeout(this.resyncTimer);
    this.changed("closed", previous);
    this.readiness.check();
    await Promise.all(
      [this.command, this.subscriber].map(async (connection) => {
        if (connection === undefined) return;
        if (connection.status === "ready") {
          // Bounded: a hung Redis never answers QUIT.
          await within(connection.quit(), this.options.timeoutMs, undefined).catch(() => {});
        }
        connection.disconnect();
      }),
    );
  }

  private changed(state: BackplaneState, previous: BackplaneState): void {
    this.hooks.changed(state, previous);
    this.report?.({ kind: "state", state, previous });
  }
}
