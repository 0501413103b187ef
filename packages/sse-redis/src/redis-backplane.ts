import { randomBytes } from "node:crypto";
import type {
  Backplane,
  BackplaneHost,
  BackplanePresence,
  BackplaneReplay,
  BackplaneState,
  BackplaneStats,
  PresenceHost,
  SSEEvent,
} from "@burrow/sse-core";
import { Redis } from "ioredis";
import { parseEvent, readHistory, type StoredEvent } from "./history-reader.js";
import {
  type BackplaneLogger,
  type RedisBackplaneOptions,
  type ResolvedOptions,
  redactUrl,
  resolveOptions,
} from "./options.js";
import { RedisPresence } from "./presence-store.js";
import { ReplayQueue } from "./replay-queue.js";
import { defineScripts, type ScriptedRedis } from "./scripts.js";
import { Watchdog } from "./watchdog.js";
import { within } from "./within.js";

/** `broker.stats().backplane` with a Redis backplane. */
export interface RedisBackplaneStats extends BackplaneStats {
  /** Events sent to Redis from this process, ever. */
  published: number;
  /**
   * Events recovered from the streams after this process's subscription to
   * Redis was cut (published meanwhile by other processes), ever.
   */
  recovered: number;
  /**
   * Times a reconnection could not recover what was published meanwhile
   * (Redis lost its data, or history is off or too short), ever.
   */
  gaps: number;
  /** The last error seen, if any. */
  lastError: string | undefined;
  /** Events sent to Redis from this process and not answered yet, now (at most `maxPending`). */
  pending: number;
  /**
   * Events published here while `maxPending` were unanswered: not sent to
   * Redis, delivered on this process only, ever.
   */
  overflow: number;
  /**
   * Times a connection was closed because Redis did not answer within
   * `timeoutMs` (each reconnection attempt to a hung Redis counts), ever.
   */
  timeouts: number;
  /** Resumes reading history from Redis or waiting their turn (see `maxReplays`), now. */
  replays: number;
  /** Resumes whose client left before their turn: nothing was read for them, ever. */
  replaysSkipped: number;
  /** Presence sweeps for processes that stopped renewing their members run here, ever. */
  presenceSweeps: number;
}

/** One message read from a topic's channel, before delivery. */
interface Message {
  topic: string;
  seq: number;
  epoch: string;
  event: SSEEvent;
  /** Already delivered here (a publish whose answer was lost): only advances the order. */
  delivered?: boolean;
}

/**
 * The Redis {@link Backplane}: one global order from a counter that a Lua
 * script increments as it appends the event to its topic's stream (capped at
 * `historySize`) and publishes it on the topic's channel, in one atomic step.
 * Each process subscribes, on one connection, to the channels of the topics
 * its clients watch, so every process receives every event in the same order.
 * Create it with {@link redisBackplane}.
 */
export class RedisBackplane implements Backplane {
  private readonly options: ResolvedOptions;
  private readonly safeUrl: string;
  private host: BackplaneHost | undefined;
  private command: ScriptedRedis | undefined;
  private subscriber: Redis | undefined;
  /** Topics with a local client, and the promise of their SUBSCRIBE's answer. */
  private readonly watched = new Map<string, Promise<unknown> | undefined>();
  /** Watched topics whose SUBSCRIBE Redis has answered on the current connection. */
  private readonly live = new Set<string>();
  private state: BackplaneState = "connecting";
  private commandReady = false;
  /** The subscriber is connected, subscribed to every watched topic, and caught up. */
  private subscriberSynced = false;
  private syncing = false;
  /** Live messages that arrive while a reconnection catches up from the streams. */
  private held: Message[] | undefined;
  private epoch: string | undefined;
  /** Seq of the last event delivered through Redis (per epoch). */
  private lastSeq = 0;
  /** Random, per process: tells this process's publishes apart, and seeds a new epoch. */
  private readonly origin = randomBytes(6).toString("hex");
  private nonce = 0;
  /** Own publishes sent to Redis whose answer and echo are both still awaited. */
  private readonly inFlight = new Set<number>();
  /** Own publishes that failed and were delivered locally instead: not delivered twice. */
  private readonly deliveredLocally = new Set<number>();
  private lastError: Error | undefined;
  private localOnlyCount = 0;
  private localOnlySinceDown = 0;
  private receivedCount = 0;
  private publishedCount = 0;
  private recoveredCount = 0;
  private gapCount = 0;
  private errorCount = 0;
  private overflowCount = 0;
  private overflowReported = false;
  private timeoutCount = 0;
  /** A connection was found hung since the link was last ready. */
  private hung = false;
  private skippedCount = 0;
  private readonly replays: ReplayQueue;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private presenceStore: RedisPresence | undefined;

  /** @param options - see {@link RedisBackplaneOptions}. */
  constructor(options: RedisBackplaneOptions = {}) {
    this.options = resolveOptions(options);
    this.safeUrl = redactUrl(this.options.url);
    this.replays = new ReplayQueue(this.options.maxReplays);
  }

  /** Connects to Redis; called once by the broker. */
  attach(host: BackplaneHost): void {
    if (this.host !== undefined) {
      throw new Error("sse-redis: backplane: already attached to a broker; create one per broker");
    }
    this.host = host;
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
      this.timeoutCount++;
      this.hung = true;
      this.lastError = error;
    };
    const watchdogs = [command, subscriber].map((redis) => new Watchdog(redis, timeoutMs, onHang));
    // What ioredis reports about a socket the watchdog closed follows from the hang, not a cause.
    const onError = (watchdog: Watchdog) => (error: Error) =>
      watchdog.closedCurrent ? this.update() : this.fail(error);
    command.on("ready", () => {
      this.commandReady = true;
      this.sync();
    });
    command.on("close", () => {
      this.commandReady = false;
      this.update();
    });
    command.on("error", onError(watchdogs[0]!));
    subscriber.on("ready", () => this.sync());
    subscriber.on("close", () => {
      this.subscriberSynced = false;
      this.live.clear();
      this.update();
    });
    subscriber.on("error", onError(watchdogs[1]!));
    subscriber.on("message", (channel: string, message: string) =>
      this.onMessage(channel, message),
    );
    this.watchdogTimer = setInterval(
      () => {
        const now = Date.now();
        for (const watchdog of watchdogs) watchdog.check(now);
      },
      Math.max(1, Math.floor(timeoutMs / 4)),
    );
    this.watchdogTimer.unref();
  }

  /** Orders `event` through Redis; while Redis is unreachable, delivers it on this process only. */
  publish(topic: string, event: SSEEvent): void {
    const host = this.host;
    if (host === undefined || this.state === "closed") return;
    if (this.state !== "ready") {
      this.deliverLocally(topic, event);
      return;
    }
    if (this.inFlight.size >= this.options.maxPending) {
      this.overflow(topic, event);
      return;
    }
    const nonce = ++this.nonce;
    const json = JSON.stringify(event);
    const keys = this.keys(topic);
    this.publishedCount++;
    this.inFlight.add(nonce);
    this.command!.ssePublish(
      keys.meta,
      keys.evicted,
      keys.stream,
      keys.channel,
      topic,
      json,
      host.historySize,
      this.newEpoch(),
      `${this.origin}:${nonce}`,
      host.historySize > 0 ? "1" : "0",
    ).then(
      () => this.inFlight.delete(nonce),
      (error: Error) => {
        if (this.state === "closed") return;
        // Its echo came already: Redis ran it, and it was delivered here.
        if (!this.inFlight.delete(nonce)) return;
        // Whether Redis ran it is unknown: deliver it here, and not again if its echo comes.
        this.deliveredLocally.add(nonce);
        // Bounded: only own echoes prune it, and a process may not watch what it publishes.
        if (this.deliveredLocally.size > 10_000) {
          this.deliveredLocally.delete(this.deliveredLocally.values().next().value!);
        }
        this.deliverLocally(topic, event);
        const status = this.command?.status;
        // After a hang, keep its cause as the last error rather than each publish it failed.
        if (this.hung) this.update();
        else this.fail(status === "ready" ? error : new Error(`connection lost (${status})`));
      },
    );
  }

  /** Subscribes to `topic`'s channel (now, or as soon as Redis is reachable). */
  watch(topic: string): void {
    if (this.watched.has(topic)) return;
    this.watched.set(topic, undefined);
    if (this.subscriber?.status === "ready") this.subscribe([topic]);
  }

  /** Unsubscribes from `topic`'s channel. */
  unwatch(topic: string): void {
    if (!this.watched.delete(topic)) return;
    this.live.delete(topic);
    if (this.subscriber?.status === "ready") {
      this.subscriber.unsubscribe(this.keys(topic).channel).catch(() => {});
    }
  }

  /**
   * Reads what `topics` retained after `lastEventId` (see
   * {@link Backplane.replay}), in pages, at most `maxReplays` resumes at a
   * time; nothing is read once `signal` aborts (the client left). A miss
   * (undefined) when Redis is down or does not answer within `timeoutMs`.
   */
  async replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    const match = /^([0-9a-z]+)-(\d+)$/.exec(lastEventId);
    const historySize = this.host?.historySize ?? 0;
    if (match === null || historySize === 0 || this.state !== "ready") return undefined;
    const epoch = match[1]!;
    const after = Number(match[2]);
    if (!Number.isSafeInteger(after)) return undefined;
    const { timeoutMs } = this.options;
    // Live deliveries must have started before the read: then the two overlap, never leave a hole.
    const watching = Promise.all(topics.map((topic) => this.watched.get(topic)));
    if ((await within(watching, timeoutMs, false)) === false) return undefined;
    if (!this.subscriberSynced) return undefined;
    const release = await this.replays.turn(signal);
    if (release === undefined || signal?.aborted) {
      release?.();
      if (signal?.aborted) this.skippedCount++;
      return undefined;
    }
    let events: StoredEvent[] | undefined;
    try {
      if (this.state !== "ready") return undefined;
      events = await readHistory({
        redis: this.command!,
        prefix: this.options.prefix,
        topics,
        epoch,
        after,
        limit: historySize,
        timeoutMs,
        signal,
      });
    } finally {
      release();
    }
    if (events === undefined) return undefined;
    // A barrier: Redis answers this PING after the messages it queued on the subscriber before,
    // so the live copies of the events just read are delivered (and held) before the replay.
    const barrier = this.subscriber!.ping().then(() => true);
    if ((await within(barrier, timeoutMs, false)) === false) return undefined;
    return { after, events };
  }

  /**
   * The id of the last event Redis ordered (on any process), `<epoch>-<seq>`:
   * `replay(topics, await latest())` returns exactly the events published
   * after this call. On an empty Redis it sets the epoch and returns
   * `<epoch>-0`. Undefined when history is off, Redis is down, or it does
   * not answer within `timeoutMs`.
   */
  async latest(): Promise<string | undefined> {
    if ((this.host?.historySize ?? 0) === 0 || this.state !== "ready") return undefined;
    try {
      const answer = this.command!.sseLatest(`${this.options.prefix}meta`, this.newEpoch());
      const reply = await within(answer, this.options.timeoutMs, undefined);
      return reply === undefined ? undefined : `${reply[0]}-${reply[1]}`;
    } catch {
      return undefined;
    }
  }

  /** The link's state and counters. */
  stats(): RedisBackplaneStats {
    return {
      state: this.state,
      errors: this.errorCount,
      localOnly: this.localOnlyCount,
      received: this.receivedCount,
      topics: this.live.size,
      published: this.publishedCount,
      recovered: this.recoveredCount,
      gaps: this.gapCount,
      lastError: this.lastError?.message,
      pending: this.inFlight.size,
      overflow: this.overflowCount,
      timeouts: this.timeoutCount,
      replays: this.replays.size,
      replaysSkipped: this.skippedCount,
      presenceSweeps: this.presenceStore?.sweeps ?? 0,
    };
  }

  /**
   * Shares the broker's presence through Redis, on a connection of its own
   * (see {@link RedisBackplaneOptions.presenceTtlMs}); called by the broker.
   */
  presence(host: PresenceHost): BackplanePresence {
    if (this.presenceStore !== undefined) {
      throw new Error("sse-redis: backplane: presence already shared with a broker");
    }
    this.presenceStore = new RedisPresence(host, {
      url: this.options.url,
      redis: this.options.redis,
      prefix: this.options.prefix,
      ttlMs: this.options.presenceTtlMs,
      timeoutMs: this.options.timeoutMs,
      // The command connection reports the link's errors; this one's would repeat them.
      onError: () => {},
    });
    return this.presenceStore;
  }

  /** Closes the Redis connections. Idempotent; the broker's `close()` calls it. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    const presence = this.presenceStore?.close();
    clearInterval(this.watchdogTimer);
    this.watched.clear();
    this.live.clear();
    this.replays.flush();
    const connections = [this.command, this.subscriber];
    await Promise.all(
      connections.map(async (connection) => {
        if (connection === undefined) return;
        if (connection.status === "ready") {
          // Bounded: a hung Redis never answers QUIT.
          await within(connection.quit(), this.options.timeoutMs, undefined).catch(() => {});
        }
        connection.disconnect();
      }),
    );
    await presence;
  }

  private keys(topic: string) {
    const prefix = this.options.prefix;
    return {
      meta: `${prefix}meta`,
      evicted: `${prefix}evicted`,
      stream: `${prefix}h:${topic}`,
      channel: `${prefix}t:${topic}`,
    };
  }

  /** A fresh epoch, used by the publish script only when Redis has none (empty or restarted). */
  private newEpoch(): string {
    return `${Date.now().toString(36)}${this.origin.slice(0, 4)}`;
  }

  private subscribe(topics: readonly string[]): Promise<unknown> {
    const channels = topics.map((topic) => this.keys(topic).channel);
    const answer = this.subscriber!.subscribe(...channels).then(
      () => {
        for (const topic of topics) if (this.watched.has(topic)) this.live.add(topic);
      },
      (error: Error) => this.fail(error),
    );
    for (const topic of topics) {
      if (this.watched.has(topic)) this.watched.set(topic, answer);
    }
    return answer;
  }

  /**
   * Once both connections are up: subscribes to every watched topic, then
   * recovers from the streams what was published while the subscription was
   * cut, holding live messages meanwhile, and only then reports ready.
   */
  private sync(): void {
    const subscriber = this.subscriber!;
    if (
      this.syncing ||
      this.subscriberSynced ||
      !this.commandReady ||
      subscriber.status !== "ready" ||
      this.state === "closed"
    ) {
      this.update();
      return;
    }
    this.syncing = true;
    this.held = [];
    const run = async (): Promise<void> => {
      const topics = [...this.watched.keys()];
      if (topics.length > 0) await this.subscribe(topics);
      if (subscriber.status !== "ready") return;
      if (this.lastSeq > 0 && this.epoch !== undefined && topics.length > 0) {
        const missed =
          this.host!.historySize > 0
            ? await this.read(topics, this.epoch, this.lastSeq)
            : undefined;
        if (missed === undefined) {
          this.gapCount++;
          this.options.logger?.error(
            `sse-redis: events published on other processes while this one was cut from Redis at ${this.safeUrl} could not be recovered (Redis lost its data, or history is off or too short); clients here may have missed some`,
          );
        } else {
          for (const { topic, event, seq, origin } of missed) {
            if (seq <= this.lastSeq) continue;
            const delivered = this.ownDelivered(origin ?? "");
            if (!delivered) this.recoveredCount++;
            this.dispatch({ topic, event, seq, epoch: this.epoch, delivered });
          }
        }
      }
      if (subscriber.status !== "ready") return;
      this.subscriberSynced = true;
    };
    run()
      .catch((error: Error) => this.fail(error))
      .finally(() => {
        this.syncing = false;
        const held = this.held ?? [];
        this.held = undefined;
        // Unsynced, they are read from the streams by the next sync, after what is missing.
        if (this.subscriberSynced) for (const message of held) this.dispatch(message);
        this.update();
      });
  }

  /**
   * Reads the events of `topics` after `after` in `epoch`, merged in seq
   * order; undefined on a gap. Without a deadline: if Redis hangs, the
   * watchdog closes the connection, which fails the read.
   */
  private read(
    topics: readonly string[],
    epoch: string,
    after: number,
  ): Promise<StoredEvent[] | undefined> {
    return readHistory({
      redis: this.command!,
      prefix: this.options.prefix,
      topics,
      epoch,
      after,
      limit: this.host!.historySize,
    });
  }

  private onMessage(channel: string, raw: string): void {
    const channelPrefix = `${this.options.prefix}t:`;
    if (!channel.startsWith(channelPrefix)) return;
    const parts = splitMessage(raw);
    if (parts === undefined) return;
    const [seqText, epoch, origin, assigned, json] = parts;
    const seq = Number(seqText);
    const event = parseEvent(json);
    if (!Number.isSafeInteger(seq) || event === undefined) return;
    const delivered = this.ownDelivered(origin);
    if (assigned === "1" && !event.id) event.id = `${epoch}-${seq}`;
    const topic = channel.slice(channelPrefix.length);
    const message: Message = { topic, seq, epoch, event, delivered };
    if (this.held !== undefined) this.held.push(message);
    else this.dispatch(message);
  }

  /**
   * For an event seen through Redis: whether this process published it and
   * already delivered it locally (its answer was lost).
   */
  private ownDelivered(origin: string): boolean {
    const [from, nonceText] = origin.split(":");
    if (from !== this.origin) return false;
    const nonce = Number(nonceText);
    this.inFlight.delete(nonce);
    if (this.deliveredLocally.size === 0) return false;
    const delivered = this.deliveredLocally.delete(nonce);
    // Own publishes reach Redis in the order they were sent: older ones will not come any more.
    for (const old of this.deliveredLocally) if (old < nonce) this.deliveredLocally.delete(old);
    return delivered;
  }

  /** Delivers a message from Redis in order, once: a seq already delivered is skipped. */
  private dispatch(message: Message): void {
    if (this.state === "closed") return;
    if (message.epoch !== this.epoch) {
      // Redis lost its data (restart without persistence): the counter started over.
      this.epoch = message.epoch;
      this.lastSeq = 0;
    }
    if (message.seq <= this.lastSeq) return;
    this.lastSeq = message.seq;
    if (message.delivered) return;
    this.receivedCount++;
    try {
      this.host!.deliver(message.topic, message.event, message.seq);
    } catch {
      // Not encodable: not written by a broker; nothing to deliver.
    }
  }

  private deliverLocally(topic: string, event: SSEEvent): void {
    this.localOnlyCount++;
    this.localOnlySinceDown++;
    this.host!.deliver(topic, { ...event }, 0);
  }

  /** A publish past `maxPending`: delivered here only, counted, reported once per ready spell. */
  private overflow(topic: string, event: SSEEvent): void {
    this.overflowCount++;
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.options.logger?.error(
        `sse-redis: ${this.options.maxPending} publishes to Redis at ${this.safeUrl} are unanswered (maxPending); until it answers, further events published on this process reach its own clients only`,
      );
    }
    this.host!.deliver(topic, { ...event }, 0);
  }

  private fail(error: Error): void {
    this.lastError = error;
    this.update();
  }

  /** Recomputes the state; reports a change once. */
  private update(): void {
    if (this.state === "closed") return;
    const ready = this.commandReady && this.subscriberSynced && this.subscriber?.status === "ready";
    const next: BackplaneState = ready
      ? "ready"
      : this.state === "connecting" && this.lastError === undefined
        ? "connecting"
        : "down";
    if (next === this.state) return;
    const previous = this.state;
    this.state = next;
    const logger: BackplaneLogger | undefined = this.options.logger;
    if (next === "down") {
      // Their replays would wait for a Redis that is not there: misses, now.
      this.replays.flush();
      this.errorCount++;
      this.localOnlySinceDown = 0;
      const cause = this.lastError?.message ?? "connection closed";
      logger?.error(
        `sse-redis: Redis at ${this.safeUrl} is unreachable (${cause}); events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until it is back`,
      );
    }
    if (next === "ready") {
      this.overflowReported = false;
      this.hung = false;
    }
    if (next === "ready" && previous === "down") {
      logger?.info(
        `sse-redis: reconnected to Redis at ${this.safeUrl}; ${this.localOnlySinceDown} event(s) published here meanwhile reached this process's clients only`,
      );
    }
  }
}

/**
 * A Redis backplane for {@link EventBroker}: every broker created with one (in
 * any process, on the same Redis and prefix) shares one topic space, one event
 * order, and one history, so a client resumes with `Last-Event-ID` on any
 * process.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 * import { redisBackplane } from "@burrow/sse-redis";
 *
 * const broker = new EventBroker({
 *   historySize: 100,
 *   backplane: redisBackplane({ url: process.env.REDIS_URL }),
 * });
 * ```
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): RedisBackplane {
  return new RedisBackplane(options);
}

/** Splits `<seq>\n<epoch>\n<origin>\n<assigned>\n<json>`. */
function splitMessage(raw: string): [string, string, string, string, string] | undefined {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < 4; i++) {
    const end = raw.indexOf("\n", start);
    if (end === -1) return undefined;
    parts.push(raw.slice(start, end));
    start = end + 1;
  }
  return [parts[0]!, parts[1]!, parts[2]!, parts[3]!, raw.slice(start)];
}
