import type { Backplane } from "../backplane/backplane.js";
import type { PresenceMember } from "../backplane/backplane-presence.js";
import { SSEError } from "../base/errors.js";
import type { SlowClientPolicy } from "../base/slow-client-policy.js";
import type { Client } from "../delivery/client.js";
import { Subscription } from "../delivery/subscription.js";
import { Presence } from "../presence/presence.js";
import { checkedCopy, type SSEEvent } from "../wire/encode.js";
import type { SwapFormat } from "../wire/swap.js";
import {
  checkTopic,
  normalizeTopics,
  type TopicMap,
  type TopicOf,
  type Topics,
} from "../wire/topics.js";
import {
  type BrokerOptions,
  renderSnapshotOf,
  resolveBrokerOptions,
  type SubscribeOptions,
} from "./broker-options.js";
import { BrokerCounters, type BrokerStats } from "./broker-stats.js";
import { ClientSlots } from "./client-slots.js";
import { LocalPublish } from "./local-publish.js";
import { type BrokerObserver, Observers, type RefusalReason } from "./observer.js";
import { Resumes } from "./resumes.js";
import { Subscribers } from "./subscribers.js";
import { TopicChecks } from "./topic-checks.js";

/**
 * An in-memory topic broker: `publish` hands an event to every client
 * subscribed to its topic, never blocking and never throwing because of a
 * client. A client that cannot keep up loses events (counted in `dropped`)
 * instead of slowing the others.
 *
 * `T`, the app's {@link TopicMap}, types its topics: `publish`, `subscribe`,
 * `members` and every handler given this broker then take only the topics
 * it declares (literals, or template-literal patterns), and `publish` only
 * `data` of the type it maps the topic to. Without it, any topic and any
 * string data, as always. Types only: nothing is checked at run time.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 *
 * const broker = new EventBroker({ bufferSize: 32 });
 * broker.publish("notifications", { data: "<li>New note</li>" }); // type: the topic
 *
 * // Typed topics: a typo or a topic nobody declared is a compile error.
 * const typed = new EventBroker<{ notes: string; [project: `project:${string}`]: string }>();
 * typed.publish("project:42", { data: "<li>Build passed</li>" });
 * ```
 */
export class EventBroker<T extends TopicMap = TopicMap> {
  /** Per-client buffer capacity, in events. */
  readonly bufferSize: number;
  /** Events kept per topic for resume (0: none). */
  readonly historySize: number;
  /** What happens to a client whose buffer is full (the `slowClient` option). */
  readonly slowClient: SlowClientPolicy;
  /**
   * The room for more streams, which handlers reserve before subscribing one. A plain field (not
   * `#private`): a handler of the other copy (ESM or CJS) reaches the same slots. @internal
   */
  readonly slots: ClientSlots;
  private readonly subscribers: Subscribers;
  private isClosed = false;
  private readonly counters = new BrokerCounters();
  private readonly observers = new Observers();
  /** Who is on each topic (handlers check their `presence` result with `admit`). @internal */
  readonly roster: Presence;
  private readonly presenceOn: boolean;
  private readonly resumes: Resumes;
  private readonly backplane: Backplane | undefined;
  private readonly topicChecks: TopicChecks;
  private readonly local: LocalPublish;
  /** The `topics` option's rules (a handler checks its `snapshot` option against them). @internal */
  readonly rules: LocalPublish["rules"];

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
    this.slowClient = opts.slowClient;
    this.backplane = opts.backplane;
    this.topicChecks = new TopicChecks(this.backplane, opts.topics);
    this.presenceOn = opts.presenceOn;
    this.roster = new Presence(opts.presence, (topic, event) =>
      this.untyped().publish(topic, event),
    );
    this.subscribers = new Subscribers(this.backplane, this.roster, this.counters, this.observers);
    this.slots = new ClientSlots(this.subscribers);
    this.local = new LocalPublish(opts, this.subscribers.index, this.counters, this.observers);
    if (!opts.topics.empty) this.subscribers.repairer = this.local.snapshots;
    this.rules = this.local.rules;
    this.resumes = new Resumes(opts, this.local, this.counters, this.observers);
    this.backplane?.attach({
      historySize: this.historySize,
      deliver: (topic, event, seq) => {
        if (!this.isClosed) this.local.receive(topic, event, seq);
      },
      report: (report) => this.local.report(report),
      lost: (topics) => this.isClosed || this.local.lost(topics),
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
  subscribe(topics: Topics<TopicOf<T>>, options: SubscribeOptions = {}): Client {
    const member = this.roster.admit(options.member, "member");
    const list = normalizeTopics(topics);
    for (const topic of list) this.topicChecks.carried(topic);
    const client = new Subscription(this.subscribers, list, this, renderSnapshotOf(options));
    if (this.isClosed) {
      client.close(true);
      return client;
    }
    const { lastEventId } = options;
    this.resumes.start(client, options);
    this.subscribers.add(client, member, lastEventId);
    if (lastEventId) this.resumes.fromBackplane(client, lastEventId);
    return client;
  }

  /**
   * Subscribes through {@link EventBroker.subscribe} (so whatever wraps it
   * sees handlers' subscriptions too) and returns the stream-side handle a
   * handler connects its transport to; `format`, the handler's htmx 4
   * format, tells publish which topics it wraps. @internal
   */
  open(topics: Topics, options: SubscribeOptions = {}, format?: SwapFormat): Subscription {
    const client = this.untyped().subscribe(topics, options);
    if (!(client instanceof Subscription)) {
      // Only a replaced `subscribe` (a wrapper returning something else) gets here: a bug, a 500.
      throw new SSEError("sse: broker.subscribe returned a value that is not this broker's client");
    }
    if (format !== undefined && !client.closed) this.subscribers.wrapped.add(client, format);
    return client;
  }

  /** Removes `client` from every topic and ends it, discarding what it had queued. Idempotent. */
  unsubscribe(client: Client): void {
    this.subscribers.end(client, "client");
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
    return this.observers.add(observer);
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
  async members(topic: TopicOf<T>): Promise<PresenceMember[]> {
    this.topicChecks.carried(checkTopic(topic));
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
    this.counters.refused[reason]++;
    this.observers.notify("refused", reason, error);
  }

  /**
   * Publishes `event` to every client subscribed to `topic`. The event's
   * `type` defaults to the topic. The event is validated and encoded once; an
   * invalid one (a key other than `type`, `data`, `id` and `retry` included)
   * throws {@link SSEFieldError} before any client sees it; so does `data`
   * holding an end tag that would close the `<hx-partial>` a connected
   * htmx 4 stream wraps `topic` in (a handler's `swap` map): data is HTML
   * the app must escape. A topic that no handler with the default limits
   * accepts (white space, control characters, longer than 128) is published,
   * but a warning says so, once per broker: no browser can subscribe to it.
   * With history on, the event is retained (even with no client now) and,
   * without an `id`, gets one. After `close()` it is a silent no-op.
   *
   * With a `backplane`, the event is handed to the backplane, which delivers
   * it on every process (this one included) once ordered: asynchronously. A
   * topic the backplane cannot carry (see {@link Backplane.topicProblem})
   * throws {@link SSEFieldError}. A `local` topic is published here only, at once.
   *
   * @returns how many clients it was queued for (drops excluded; with a
   * backplane, how many clients of `topic` this process has now).
   */
  publish<K extends TopicOf<T>>(topic: K, event: SSEEvent<T[K]>): number {
    if (this.isClosed) return 0;
    this.topicChecks.carried(checkTopic(topic));
    this.topicChecks.vet(topic);
    const normalized = checkedCopy(event, topic);
    this.subscribers.wrapped.check(topic, normalized);
    this.counters.published++;
    if (this.backplane !== undefined && !this.rules.local(topic)) {
      this.backplane.publish(topic, normalized);
      return this.subscribers.index.clientsOf(topic)?.size ?? 0;
    }
    return this.local.publish(topic, normalized);
  }

  /** Ends every client (HTTP streams flush what is queued, then end). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.subscribers.endAll();
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
   * engine is unreachable): the page then simply connects live. With `local`
   * topics, it names this process's latest local event too (`<bp id>~<local id>`).
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
    if (this.backplane === undefined) return this.local.history?.cursor();
    const latest = (await this.backplane.latest?.()) ?? undefined;
    return this.local.kept?.cursor(latest) ?? latest;
  }

  /** A snapshot of the broker's counters. */
  stats(): BrokerStats {
    return this.counters.stats(
      this.subscribers.size,
      this.subscribers.index.size,
      this.roster.count(),
      this.backplane,
    );
  }

  /** This broker without its topic map: presence and handlers' topics were typed where named. */
  private untyped(): EventBroker {
    return this;
  }
}
