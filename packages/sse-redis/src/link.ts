/**
 * The link to Redis: its two connections (one for commands, one subscribed
 * to topic channels), their watchdogs, and the state machine that derives
 * `"connecting"` / `"ready"` / `"down"` / `"closed"` from them, logging and
 * reporting each change once. Internal.
 */
import type { BackplaneReport, BackplaneState } from "@burrow/sse-core";
import { nextBackplaneState } from "@burrow/sse-core/adapter";
import { Redis } from "ioredis";
import type { ResolvedOptions } from "./options.js";
import { defineScripts, type ScriptedRedis } from "./scripts.js";
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
  /** Times the link went down (or failed to come up), ever. */
  errors = 0;
  /** Connections closed by a watchdog because Redis did not answer, ever. */
  timeouts = 0;
  private commandReady = false;
  /** A connection was found hung since the link was last ready. */
  private hung = false;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private report: ((report: BackplaneReport) => void) | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly safeUrl: string,
    private readonly hooks: LinkHooks,
  ) {}

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
    };
    const watchdogs = [command, subscriber].map((redis) => new Watchdog(redis, timeoutMs, onHang));
    // What ioredis reports about a socket the watchdog closed follows from the hang, not a cause.
    const onError = (watchdog: Watchdog) => (error: Error) =>
      watchdog.closedCurrent ? this.update() : this.fail(error);
    command.on("ready", () => {
      this.commandReady = true;
      this.hooks.connected();
    });
    command.on("close", () => {
      this.commandReady = false;
      this.update();
    });
    command.on("error", onError(watchdogs[0]!));
    subscriber.on("ready", () => this.hooks.connected());
    subscriber.on("close", () => {
      this.synced = false;
      this.hooks.subscriberClosed();
      this.update();
    });
    subscriber.on("error", onError(watchdogs[1]!));
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

  /** Records `error` as the last one, and recomputes the state. */
  fail(error: Error): void {
    this.lastError = error;
    this.update();
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

  /** Recomputes the state; logs and reports a change once. */
  update(): void {
    if (this.state === "closed") return;
    const next = nextBackplaneState(
      this.state,
      this.commandReady && this.synced && this.subscriberUp,
      this.lastError !== undefined,
    );
    if (next === this.state) return;
    const previous = this.state;
    this.state = next;
    const logger = this.options.logger;
    if (next === "down") {
      this.errors++;
      const cause = this.lastError?.message ?? "connection closed";
      logger?.error(
        `sse-redis: Redis at ${this.safeUrl} is unreachable (${cause}); events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until it is back`,
      );
    }
    if (next === "ready") this.hung = false;
    if (next === "ready" && previous === "down") {
      logger?.info(
        `sse-redis: reconnected to Redis at ${this.safeUrl}; ${this.hooks.localOnlySinceDown()} event(s) published here meanwhile reached this process's clients only`,
      );
    }
    this.changed(next, previous);
  }

  /** Closes both connections, waiting at most `timeoutMs` for Redis to acknowledge. Idempotent. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    const previous = this.state;
    this.state = "closed";
    clearInterval(this.watchdogTimer);
    this.changed("closed", previous);
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
