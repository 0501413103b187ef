import type { SSEEvent } from "../wire/encode.js";

/**
 * A subscription to one or more topics. Iterate it with `for await` to receive
 * events in code, or let a handler stream it to a browser.
 *
 * @example
 * ```ts
 * const client = broker.subscribe(["news", "status"]);
 * for await (const event of client) console.log(event.type, event.data);
 * ```
 */
export interface Client extends AsyncIterable<SSEEvent> {
  /** The topics it receives, without duplicates. */
  readonly topics: readonly string[];
  /** True once unsubscribed or the broker closed. */
  readonly closed: boolean;
  /**
   * Resolves when unsubscribed or the broker closes. `unsubscribe` discards what
   * is queued; `broker.close()` lets HTTP streams flush what is queued, then end.
   */
  readonly done: Promise<void>;
  /** Events lost because its buffer was full. */
  readonly dropped: number;
}
