import type { Backplane, BackplaneReplay, BackplaneStats } from "./backplane.js";
import { resolveBrokerOptions } from "./broker-options.js";
import { type Client, Subscription, type SubscriptionHost } from "./client.js";
import { checkEventKeys, type SSEEvent, validateEvent } from "./encode.js";
import { SSEError, SSEFieldError } from "./errors.js";
import { FlushScheduler } from "./flush.js";
import { type Frame, frameOf } from "./frame.js";
import { History } from "./history.js";
import { DEFAULT_LIMITS } from "./limits.js";
import { Delivery, type SlowClientPolicy } from "./live-queue.js";
import { type BrokerObserver, type CloseReason, notify, type RefusalReason } from "./observer.js";
import {
  checkIdentity,
  Presence,
  type PresenceIdentity,
  type PresenceMember,
  type PresenceOptions,
} from "./presence.js";
import { type HistorySource, Resume } from "./resume.js";
import type { SwapFormat } from "./swap.js";
import { checkTopic, normalizeTopics, type Topics } from "./topics.js";
import { warn } from "./warn.js";
import { WrappedTopics } from "./wrapped-topics.js";

export { DEFAULT_BUFFER_SIZE } from "./broker-options.js";

/** Options of {@link EventBroker}. */
export interface BrokerOptions {
  /**
   * Events a client may have queued while its connection cannot take them;
   * past that, new events are dropped for that client only (and counted).
   * Any value below 1 becomes 1 (a client always holds the event being
   * written); a fraction is floored. A number, never a string.
   * @default 16
   */
  bufferSize?: number;
  /**
   * Events kept per topic so a client reconnecting with `Last-Event-ID`
   * resumes without a gap; 0 turns history off. With history on, an event
   * published without an `id` gets a broker-assigned, strictly increasing one.
   * @default 0
   */
  historySize?: number;
  /**
   * With history on: the `type` of an event sent first to a client whose
   * `Last-Event-ID` cannot be resumed without a gap (unknown or evicted), so
   * a page can reload what it shows (htmx: `hx-trigger="sse:<type>"`).
   * Unset, such a client just receives live events.
   * @default undefined
   */
  resumeMissEvent?: string;
  /**
   * What happens to a client whose buffer is full: `"drop-newest"` (lose the
   * new event), `"drop-oldest"` (lose the oldest queued one), or
   * `"disconnect"` (end the client; a browser reconnects and, with history
   * on, resumes without loss). Every lost event is counted in `dropped`.
   * @default "drop-newest"
   */
  slowClient?: SlowClientPolicy;
  /**
   * Shares one topic space with brokers in other processes (e.g.
   * `redisBackplane()` from `@burrow/sse-redis`): events are ordered and,
   * with `historySize`, retained and given ids by the backplane, so a client
   * resumes on any process. `publish` then delivers asynchronously, once the
   * backplane has ordered the event. `close()` closes the backplane.
   * @default undefined
   */
  backplane?: Backplane;
  /**
   * Publishes who is connected: each topic's joins and leaves (of
   * connections that a handler's `presence` option identified) are rendered
   * by `render` and published on `prefix + topic`, debounced so a reload does
   * not flap. Members are tracked without it too (see {@link EventBroker.members}).
   * @default undefined (members tracked, no presence event published)
   */
  presence?: PresenceOptions;
}

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

/** Options of {@link EventBroker.subscribe}. */
export interface SubscribeOptions {
  /** The last event id the client saw (the `Last-Event-ID` header). */
  lastEventId?: string;
  /**
   * Who the client is, for presence: it joins each of its topics as this
   * member (handlers set it from their `presence` option).
   */
  member?: PresenceIdentity;
}

/**
 * An in-memory topic broker: `publish` hands an event to every client
 * subscribed to its topic, never blocking and never throwing because of a
 * client. A client that cannot keep up loses events (counted in `dropped`)
 * instead of slowing the others.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 *
 * const broker = new EventBroker({ bufferSize: 32 });
 * broker.publish("notifications", { data: "<li>New note</li>" });
 * // event type defaults to the topic: htmx's sse-swap="notifications" picks it up
 * ```
 */
export class EventBroker {
  /** Per-client buffer capacity, in events. */
  readonly bufferSize: number;
  /** Events kept per topic for resume (0: none). */
  readonly historySize: number;
  private readonly topicIndex = new Map<string, Set<Subscription>>();
  private readonly clients = new Set<Subscription>();
  private isClosed = false;
  private publishedCount = 0;
  private deliveredCount = 0;
  private droppedCount = 0;
  private resumedCount = 0;
  private slowDisconnectCount = 0;
  /** What happens to a client whose buffer is full (the `slowClient` option). */
  readonly slowClient: SlowClientPolicy;
  private resumeMissCount = 0;
  private openedCount = 0;
  private readonly closedCounts: Record<CloseReason, number> = { client: 0, slow: 0, shutdown: 0 };
  private readonly refusedCounts: Record<RefusalReason, number> = {
    limit: 0,
    authorize: 0,
    bad_request: 0,
    error: 0,
  };
  private observers: readonly BrokerObserver[] = [];
  private readonly roster: Presence;
  private readonly presenceOn: boolean;
  private readonly history: History | undefined;
  private readonly missFrame: Frame | undefined;
  private readonly backplane: Backplane | undefined;
  /** Whether publish already warned about a topic no default handler accepts. */
  private warnedTopic = false;
  /** Topics publish found subscribable (a memo of the check; emptied past {@link VETTED_MAX}). */
  private readonly vetted = new Set<string>();
  /** Topics a client now receives wrapped in `<hx-partial>`: publish refuses data that would escape it. */
  private readonly wrapped = new WrappedTopics();
  /** What this broker's subscriptions need of it: their flush scheduler, and their end. */
  private readonly host: SubscriptionHost = {
    flusher: new FlushScheduler(),
    endClient: (client, reason) => {
      if (reason === "client") {
        this.end(client, "client");
        return;
      }
      this.slowDisconnectCount++;
      // Not now: publish is iterating the topic's clients.
      queueMicrotask(() => this.end(client, "slow"));
    },
    timesDrains: () => this.observers.length > 0,
    drained: (client, seconds) => {
      if (this.observers.length > 0) notify(this.observers, "drained", client, seconds);
    },
  };
  /** Where a client resuming from local history reads it. */
  private readonly historySource: HistorySource = {
    after: (topics, cursor, limit) =>
      this.history?.after(topics, cursor, limit) ?? { frames: [], gap: false },
    missed: (client) => this.resumeMissed(client),
  };

  /**
   * @param options - a number is `bufferSize`. Throws an
   *   {@link SSEOptionError} naming the option for one that cannot work: an
   *   unknown key (with the closest known one), a number given as a string,
   *   a `backplane` that is not one (`redisBackplane` without its call).
   */
  constructor(options: number | BrokerOptions = {}) {
    const opts = resolveBrokerOptions(options);
    this.bufferSize = opts.bufferSize;
    this.historySize = opts.historySize;
    // With a backplane, history lives in the backplane's engine, shared by every process.
    this.history =
      this.historySize > 0 && opts.backplane === undefined
        ? new History(this.historySize)
        : undefined;
    this.slowClient = opts.slowClient;
    if (opts.resumeMissEvent !== undefined) this.missFrame = frameOf("", opts.resumeMissEvent, 0);
    this.presenceOn = opts.presence !== undefined;
    this.roster = new Presence(opts.presence ?? {}, (topic, event) => this.publish(topic, event));
    this.backplane = opts.backplane;
    this.backplane?.attach({
      historySize: this.historySize,
      deliver: (topic, event, seq) => this.receive(topic, event, seq),
      report: (report) => {
        if (this.observers.length > 0) notify(this.observers, "backplane", report);
      },
    });
    if (this.backplane !== undefined) this.roster.share(this.backplane);
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Subscribes a new client to `topics`. After `close()` the client is
   * returned already closed. Throws {@link SSEFieldError} for an empty list,
   * an empty topic name, or a topic the backplane cannot carry (see
   * {@link Backplane.topicProblem}).
   */
  subscribe(topics: Topics, options: SubscribeOptions = {}): Client {
    const member = checkIdentity(options.member);
    const list = normalizeTopics(topics);
    for (const topic of list) this.carried(topic);
    const client = new Subscription(this.host, list, this.bufferSize, this.slowClient);
    if (this.isClosed) {
      client.close(true);
      return client;
    }
    const { lastEventId } = options;
    if (this.history !== undefined && lastEventId) {
      const seq = this.history.resolve(lastEventId, client.topics);
      if (seq !== undefined) {
        this.resumedCount++;
        client.resumeWith(Resume.fromHistory(this.historySource, client, seq));
        if (this.observers.length > 0) notify(this.observers, "resumed", client, false);
      } else {
        const miss = this.resumeMissed(client);
        if (miss !== undefined) client.signal(miss);
      }
    }
    this.clients.add(client);
    if (member !== undefined) this.roster.join(client, member);
    this.openedCount++;
    if (this.observers.length > 0) notify(this.observers, "opened", client, { lastEventId });
    for (const topic of client.topics) {
      let set = this.topicIndex.get(topic);
      if (set === undefined) {
        set = new Set();
        this.topicIndex.set(topic, set);
        this.backplane?.watch(topic);
      }
      set.add(client);
    }
    if (this.backplane !== undefined && lastEventId) this.resumeFromBackplane(client, lastEventId);
    return client;
  }

  /**
   * Subscribes through {@link EventBroker.subscribe} (so whatever wraps it
   * sees handlers' subscriptions too) and returns the stream-side handle a
   * handler connects its transport to; `format`, the handler's htmx 4
   * format, tells publish which topics it wraps. @internal
   */
  open(topics: Topics, options: SubscribeOptions = {}, format?: SwapFormat): Subscription {
    const client = this.subscribe(topics, options);
    if (!(client instanceof Subscription)) {
      // Only a replaced `subscribe` (a wrapper returning something else) gets here: a bug, a 500.
      throw new SSEError("sse: broker.subscribe returned a value that is not this broker's client");
    }
    if (format !== undefined && !client.closed) this.wrapped.add(client, format);
    return client;
  }

  /** Removes `client` from every topic and ends it, discarding what it had queued. Idempotent. */
  unsubscribe(client: Client): void {
    this.end(client, "client");
  }

  /**
   * Adds lifecycle hooks (for logs, traces and metrics); returns a function
   * that removes them. Hooks are called synchronously, only for what happens
   * after this call.
   *
   * @example
   * ```ts
   * broker.observe({
   *   opened: (client) => log.info({ topics: client.topics }, "sse open"),
   *   refused: (reason, { status }) => log.warn({ reason, status }, "sse refused"),
   *   closed: (client, reason) => log.info({ reason }, "sse closed"),
   * });
   * ```
   */
  observe(observer: BrokerObserver): () => void {
    if (typeof observer !== "object" || observer === null) {
      throw new TypeError("sse: observe: observer must be an object of hooks");
    }
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  /**
   * Who is on `topic` now: each member (a connection's `presence` identity)
   * with its data and number of connections, in order of arrival. A member
   * whose last connection closed stays listed, with 0 connections, for the
   * presence `debounceMs`. Authorize the asker as for the topic itself.
   * Throws {@link SSEFieldError} for an empty topic, or one the backplane
   * cannot carry.
   *
   * @example
   * ```ts
   * const viewing = await broker.members("project-1");
   * res.end(viewing.map((m) => `<li>${escape(m.data.name)}</li>`).join(""));
   * ```
   */
  async members(topic: string): Promise<PresenceMember[]> {
    this.carried(checkTopic(topic));
    return this.roster.shared(topic);
  }

  /**
   * The topic whose presence `topic` carries (`project-1` for
   * `presence:project-1`) when the `presence` option is set; handlers
   * authorize a request for it as for that topic. @internal
   */
  presenceSourceOf(topic: string): string | undefined {
    return this.presenceOn ? this.roster.sourceOf(topic) : undefined;
  }

  /** Counts (and tells observers) that a handler refused a request. @internal */
  refuse(reason: RefusalReason, error: { status: number; message: string }): void {
    this.refusedCounts[reason]++;
    if (this.observers.length > 0) notify(this.observers, "refused", reason, error);
  }

  private end(client: Client, reason: CloseReason): void {
    if (!(client instanceof Subscription) || !this.clients.delete(client)) return;
    this.detach(client);
    this.wrapped.remove(client);
    this.roster.leave(client);
    client.close(true);
    this.closedCounts[reason]++;
    if (this.observers.length > 0) notify(this.observers, "closed", client, reason);
  }

  /**
   * Publishes `event` to every client subscribed to `topic`. The event's
   * `type` defaults to the topic. The event is validated and encoded once; an
   * invalid one (a key other than `type`, `data`, `id` and `retry` included)
   * throws {@link SSEFieldError} before any client sees it; so does `data`
   * holding an end tag that would close the `<hx-partial>` a connected
   * htmx 4 stream wraps `topic` in (a handler's `swap` map): data is HTML
   * the app must escape. A topic that no
   * handler with the default limits accepts (white space, control
   * characters, longer than 128) is published, but a warning says so, once
   * per broker: no browser can subscribe to it.
   * With history on, the event is retained (even with no client now) and,
   * without an `id`, gets one. After `close()` it is a silent no-op.
   *
   * With a `backplane`, the event is handed to the backplane, which delivers
   * it on every process (this one included) once ordered: asynchronously. A
   * topic the backplane cannot carry (see {@link Backplane.topicProblem})
   * throws {@link SSEFieldError}.
   *
   * @returns how many clients it was queued for (drops excluded); with a
   * backplane, how many clients of `topic` this process has now.
   */
  publish(topic: string, event: SSEEvent): number {
    if (this.isClosed) return 0;
    this.carried(checkTopic(topic));
    if (!this.warnedTopic && !this.vetted.has(topic)) this.vet(topic);
    // Spreading null or a string would publish an empty event: reject it as encodeEvent does.
    if (typeof event !== "object" || event === null) validateEvent(event);
    const normalized: SSEEvent = { ...event };
    checkEventKeys(normalized);
    if (!normalized.type) normalized.type = topic;
    validateEvent(normalized);
    this.wrapped.check(topic, normalized);
    this.publishedCount++;
    if (this.backplane !== undefined) {
      this.backplane.publish(topic, normalized);
      return this.topicIndex.get(topic)?.size ?? 0;
    }
    const history = this.history;
    const subscribers = this.topicIndex.get(topic);
    if (history === undefined && subscribers === undefined) return 0;
    const seq = history === undefined ? 0 : history.next();
    if (history !== undefined && !normalized.id) normalized.id = history.idFor(seq);
    const frame = frameOf(topic, normalized, seq);
    history?.record(topic, frame);
    if (subscribers === undefined) return 0;
    return this.fanOut(subscribers, frame);
  }

  /**
   * Throws {@link SSEFieldError} (field `"topic"`) for a topic the backplane
   * cannot carry, before it reaches the backplane (a handler answers 400).
   */
  private carried(topic: string): void {
    const problem = this.backplane?.topicProblem?.(topic);
    if (problem !== undefined) throw new SSEFieldError("topic", problem, topic);
  }

  /** Checks once per topic that a handler with the default limits accepts it; warns (once) if not. */
  private vet(topic: string): void {
    if (subscribable(topic)) {
      if (this.vetted.size >= VETTED_MAX) this.vetted.clear();
      this.vetted.add(topic);
      return;
    }
    this.warnedTopic = true;
    this.vetted.clear();
    const shown = JSON.stringify(topic.length > 40 ? `${topic.slice(0, 40)}…` : topic);
    const message =
      `sse: topic ${shown} was published, but a handler with the default limits ` +
      `refuses it (white space, control characters, or more than ${DEFAULT_LIMITS.maxTopicLength} ` +
      'characters): no browser can subscribe to it. Name topics like "project:42", ' +
      "or give the handler a topicPattern (or maxTopicLength) that accepts it. " +
      "(Warned once per broker.)";
    warn(message, "SSE_TOPIC_UNSUBSCRIBABLE");
  }

  /** Hands `frame` to each of `subscribers`; counts and returns how many queued it. */
  private fanOut(subscribers: Set<Subscription>, frame: Frame): number {
    const observers = this.observers;
    const started = observers.length > 0 ? performance.now() : 0;
    let queued = 0;
    let dropped = 0;
    for (const client of subscribers) {
      const result = client.deliver(frame);
      // QueuedDroppingOldest: queued, and an older event lost.
      if (result !== Delivery.Dropped) queued++;
      if (result !== Delivery.Queued) {
        dropped++;
        if (observers.length > 0) notify(observers, "dropped", client);
      }
    }
    this.deliveredCount += queued;
    this.droppedCount += dropped;
    if (observers.length > 0) {
      const seconds = (performance.now() - started) / 1000;
      notify(observers, "published", { topic: frame.topic, queued, dropped, seconds });
    }
    return queued;
  }

  /** Ends every client (HTTP streams flush what is queued, then end). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const clients = [...this.clients];
    this.clients.clear();
    this.topicIndex.clear();
    this.wrapped.clear();
    this.roster.clear();
    for (const client of clients) {
      client.close(false);
      this.closedCounts.shutdown++;
      if (this.observers.length > 0) notify(this.observers, "closed", client, "shutdown");
    }
    this.backplane?.close().catch(() => {});
  }

  /**
   * A resume point for a page rendered now: the id of the latest event
   * published (on any topic; through a backplane, on any process). Put it in
   * the page's stream URL as `?lastEventId=<cursor>` and the first connection
   * receives every event of its topics published after the page was rendered,
   * so nothing published between rendering and connecting is lost; on a
   * reconnect the `Last-Event-ID` header wins over the URL. Undefined without
   * history (`historySize` 0), or when the backplane cannot tell now (its
   * engine is unreachable): the page then simply connects live.
   *
   * @example
   * ```ts
   * const cursor = await broker.cursor();
   * const url = cursor === undefined ? "/events" : `/events?lastEventId=${encodeURIComponent(cursor)}`;
   * res.end(`<div hx-sse:connect="${url}" hx-swap="beforeend"></div>`);
   * ```
   */
  async cursor(): Promise<string | undefined> {
    if (this.historySize === 0 || this.isClosed) return undefined;
    if (this.backplane !== undefined) return (await this.backplane.latest?.()) ?? undefined;
    return this.history?.cursor();
  }

  /** A snapshot of the broker's counters. */
  stats(): BrokerStats {
    return {
      clients: this.clients.size,
      topics: this.topicIndex.size,
      published: this.publishedCount,
      delivered: this.deliveredCount,
      dropped: this.droppedCount,
      resumed: this.resumedCount,
      resumeMisses: this.resumeMissCount,
      slowDisconnects: this.slowDisconnectCount,
      members: this.roster.count(),
      opened: this.openedCount,
      closed: { ...this.closedCounts },
      refused: { ...this.refusedCounts },
      ...(this.backplane === undefined ? {} : { backplane: this.backplane.stats() }),
    };
  }

  /** An event ordered by the backplane (seq 0: published here while it was down). */
  private receive(topic: string, event: SSEEvent, seq: number): void {
    if (this.isClosed) return;
    const subscribers = this.topicIndex.get(topic);
    if (subscribers === undefined) return;
    this.fanOut(subscribers, receivedFrame(topic, event, seq));
  }

  /**
   * Resumes `client` from the backplane's history: live events are held
   * meanwhile, and the overlap is removed by seq.
   */
  private resumeFromBackplane(client: Subscription, lastEventId: string): void {
    if (this.historySize === 0) return;
    const backplane = this.backplane!;
    client.resumeWith(Resume.awaiting(Math.max(this.bufferSize, this.historySize)));
    const settle = (replay: BackplaneReplay | undefined): void => {
      if (client.closed) return;
      if (replay === undefined) {
        const miss = this.resumeMissed(client);
        if (miss !== undefined) client.signal(miss);
        client.replayed([], 0);
        return;
      }
      this.resumedCount++;
      if (this.observers.length > 0) notify(this.observers, "resumed", client, false);
      const frames: Frame[] = [];
      for (const { topic, event, seq } of replay.events) {
        try {
          frames.push(receivedFrame(topic, event, seq));
        } catch {
          // Not encodable (not written by a broker): skipped, as live delivery would.
        }
      }
      client.replayed(frames, replay.after);
    };
    // Aborted when the client leaves: the backplane then reads nothing for it.
    const left = new AbortController();
    void client.done.then(() => left.abort());
    backplane.replay(client.topics, lastEventId, left.signal).then(settle, () => settle(undefined));
  }

  private detach(client: Subscription): void {
    for (const topic of client.topics) {
      const set = this.topicIndex.get(topic);
      if (set === undefined) continue;
      set.delete(client);
      if (set.size === 0) {
        this.topicIndex.delete(topic);
        this.backplane?.unwatch(topic);
      }
    }
  }

  /** A resume that cannot be gap-free: counted, observed; returns the frame that tells the client, if any. */
  private resumeMissed(client: Client): Frame | undefined {
    this.resumeMissCount++;
    if (this.observers.length > 0) notify(this.observers, "resumed", client, true);
    return this.missFrame;
  }
}

/** Topics whose check publish remembers, at most (then it starts over). */
const VETTED_MAX = 4096;

/** Validates and encodes an event that came through a backplane. */
function receivedFrame(topic: string, event: SSEEvent, seq: number): Frame {
  validateEvent(event);
  return frameOf(topic, event, seq);
}

/** True when a handler with the default limits accepts `topic`. */
function subscribable(topic: string): boolean {
  const pattern = DEFAULT_LIMITS.topicPattern;
  pattern.lastIndex = 0;
  return topic.length <= DEFAULT_LIMITS.maxTopicLength && pattern.test(topic);
}
