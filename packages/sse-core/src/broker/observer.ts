import type { BackplaneReport } from "../backplane/backplane.js";
import type { Client } from "../delivery/client.js";
import type { RepairReason } from "../wire/topic-policy.js";

/**
 * Why a request was refused before it was subscribed: `"limit"` (503 past
 * `maxClients`, 429 past `maxClientsPerAddress`), `"authorize"` (`authorize`
 * said no or threw), `"bad_request"` (a wrong method, topics or
 * `Last-Event-ID`: 400/405), `"error"` (anything else, e.g. a topic function
 * that threw, or no broker).
 */
export type RefusalReason = "limit" | "authorize" | "bad_request" | "error";

/**
 * Why a client ended: `"client"` (it left, or the app unsubscribed it),
 * `"slow"` (it fell behind under the `"disconnect"` policy), `"shutdown"`
 * (the broker closed).
 */
export type CloseReason = "client" | "slow" | "shutdown";

/** Every refusal reason, in a fixed order (for counters with a bounded label set). */
export const REFUSAL_REASONS: readonly RefusalReason[] = Object.freeze([
  "limit",
  "authorize",
  "bad_request",
  "error",
]);

/** Every close reason, in a fixed order. */
export const CLOSE_REASONS: readonly CloseReason[] = Object.freeze(["client", "slow", "shutdown"]);

/** What one publish did on this process, for {@link BrokerObserver.published}. */
export interface FanOut {
  /** The topic. */
  topic: string;
  /** Clients it was queued for. */
  queued: number;
  /** Clients that lost it (or an older event) to a full buffer. */
  dropped: number;
  /** Time spent handing it to this process's clients, in seconds. */
  seconds: number;
}

/**
 * Lifecycle hooks of a broker, for logs, traces and metrics (see
 * {@link EventBroker.observe}). Every hook is optional and called
 * synchronously; an exception it throws is logged and never reaches a client.
 */
export interface BrokerObserver {
  /** A client subscribed (a stream opened). */
  opened?(client: Client, info: { lastEventId: string | undefined }): void;
  /** A handler refused a request before subscribing it. */
  refused?(reason: RefusalReason, error: { status: number; message: string }): void;
  /** A client ended. */
  closed?(client: Client, reason: CloseReason): void;
  /**
   * A client asked to resume (`Last-Event-ID`, history on): `missed` is true
   * when it could not resume without a gap.
   */
  resumed?(client: Client, missed: boolean): void;
  /**
   * A client was sent a snapshot of `topic` (or a state topic's latest
   * event) instead of events it could not be sent exactly (see {@link RepairReason}).
   */
  snapshot?(client: Client, info: { topic: string; reason: RepairReason }): void;
  /** A client lost an event to its full buffer (under any slow-client policy). */
  dropped?(client: Client): void;
  /**
   * A client's stream that its transport blocked (a refused write: the
   * socket's buffer or the fetch body's queue full) could write again,
   * `seconds` after it blocked: once per blocked period. Streams of a broker
   * only (`streamHandler`'s have none). A block is timed only when it begins
   * while the broker has observers: without them no clock is read.
   */
  drained?(client: Client, seconds: number): void;
  /** An event was handed to this process's clients of its topic. */
  published?(fanOut: FanOut): void;
  /** The broker's backplane changed state, or an event published here came back from it (see {@link BackplaneReport}). */
  backplane?(report: BackplaneReport): void;
}

/** Calls `hook` on each observer, logging (never throwing) what a hook throws. @internal */
export function notify<K extends keyof BrokerObserver>(
  observers: readonly BrokerObserver[],
  hook: K,
  ...args: Parameters<NonNullable<BrokerObserver[K]>>
): void {
  for (const observer of observers) {
    const fn = observer[hook] as ((...a: unknown[]) => void) | undefined;
    if (fn === undefined) continue;
    try {
      fn.apply(observer, args);
    } catch (error) {
      console.error(`sse: a broker observer's ${hook} hook threw:`, error);
    }
  }
}

/**
 * The observers of one broker (see `EventBroker.observe`). The list is
 * replaced on each change, never changed in place: a notification running
 * while a hook adds or removes an observer goes on over the list it began
 * with. @internal
 */
export class Observers {
  list: readonly BrokerObserver[] = [];

  /** Adds `observer`; returns the function that removes it. */
  add(observer: BrokerObserver): () => void {
    this.list = [...this.list, observer];
    return () => {
      this.list = this.list.filter((o) => o !== observer);
    };
  }

  /**
   * Calls `hook` on each observer, if there is any. Where building the
   * arguments would allocate, check `list.length` first instead.
   */
  notify<K extends keyof BrokerObserver>(
    hook: K,
    ...args: Parameters<NonNullable<BrokerObserver[K]>>
  ): void {
    if (this.list.length > 0) notify(this.list, hook, ...args);
  }
}
