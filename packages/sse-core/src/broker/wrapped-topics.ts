import type { SSEEvent } from "../wire/encode.js";
import { checkWrappable, type SwapFormat } from "../wire/swap.js";

/**
 * The topics that some client of a broker receives wrapped in an
 * `<hx-partial>` (a handler's `swap` map), counted per client, so that
 * publish refuses, once per event and before any client sees it, data that
 * would close the wrapper early. @internal
 */
export class WrappedTopics {
  /** Per topic, how many clients receive it wrapped. */
  private readonly counts = new Map<string, number>();
  /** Each such client's wrapped topics, to count it out when it leaves. */
  private readonly clients = new Map<object, readonly string[]>();

  /** Counts `client` in for each of its topics that `format` wraps. */
  add(client: { readonly topics: readonly string[] }, format: SwapFormat): void {
    const topics = client.topics.filter((topic) => format.wraps(topic));
    if (topics.length === 0) return;
    this.clients.set(client, topics);
    for (const topic of topics) this.counts.set(topic, (this.counts.get(topic) ?? 0) + 1);
  }

  /** Counts `client` out (a no-op for a client never counted in). */
  remove(client: object): void {
    if (this.clients.size === 0) return;
    const topics = this.clients.get(client);
    if (topics === undefined) return;
    this.clients.delete(client);
    for (const topic of topics) {
      const left = this.counts.get(topic)! - 1;
      if (left === 0) this.counts.delete(topic);
      else this.counts.set(topic, left);
    }
  }

  /** Forgets every client (the broker closed). */
  clear(): void {
    this.counts.clear();
    this.clients.clear();
  }

  /**
   * Throws an `SSEFieldError` (field `"data"`) when `event`, published on
   * `topic` with its default type, would be wrapped for a client now and its
   * data would close the wrapper early.
   */
  check(topic: string, event: SSEEvent): void {
    if (this.counts.size === 0 || event.type !== topic || !this.counts.has(topic)) return;
    checkWrappable(
      event.data,
      `the <hx-partial> that a handler's swap option wraps topic ${JSON.stringify(topic)} in`,
    );
  }
}
