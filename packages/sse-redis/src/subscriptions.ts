/**
 * Which topic channels this process is subscribed to on Redis: those with a
 * local client (watched), and among them those whose SUBSCRIBE Redis has
 * answered on the current connection (live). Internal.
 */
import { topicKeys } from "./codec.js";
import type { Link } from "./link.js";

/** The subscriber's channels. Internal. */
export class Subscriptions {
  /** Topics with a local client, and the promise of their SUBSCRIBE's answer. */
  private readonly watched = new Map<string, Promise<unknown> | undefined>();
  /** Watched topics whose SUBSCRIBE Redis has answered on the current connection. */
  private readonly live = new Set<string>();

  constructor(
    private readonly link: Link,
    private readonly prefix: string,
  ) {}

  /** Topics subscribed on Redis now. */
  get size(): number {
    return this.live.size;
  }

  /** The topics watched now. */
  topics(): string[] {
    return [...this.watched.keys()];
  }

  /** Whether `topic` is subscribed on Redis now: its events come back to this process. */
  isLive(topic: string): boolean {
    return this.live.has(topic);
  }

  /** Settles once the SUBSCRIBE of each of `topics` sent so far is answered. */
  answered(topics: readonly string[]): Promise<unknown> {
    return Promise.all(topics.map((topic) => this.watched.get(topic)));
  }

  /** Watches `topic`: subscribes now if the subscriber is up, else at the next catch-up. */
  watch(topic: string): void {
    if (this.watched.has(topic)) return;
    this.watched.set(topic, undefined);
    if (this.link.subscriberUp) this.subscribe([topic]);
  }

  /** Stops watching `topic`. */
  unwatch(topic: string): void {
    if (!this.watched.delete(topic)) return;
    this.live.delete(topic);
    if (this.link.subscriberUp) {
      this.link.subscriber!.unsubscribe(topicKeys(this.prefix, topic).channel).catch(() => {});
    }
  }

  /** Subscribes to `topics` on the subscriber (up); settles when Redis answered. */
  subscribe(topics: readonly string[]): Promise<unknown> {
    const channels = topics.map((topic) => topicKeys(this.prefix, topic).channel);
    const answer = this.link.subscriber!.subscribe(...channels).then(
      () => {
        for (const topic of topics) if (this.watched.has(topic)) this.live.add(topic);
      },
      (error: Error) => this.link.fail(error),
    );
    for (const topic of topics) {
      if (this.watched.has(topic)) this.watched.set(topic, answer);
    }
    return answer;
  }

  /** The subscriber's connection closed: nothing is live any more. */
  lost(): void {
    this.live.clear();
  }

  /** Forgets every topic (the backplane closes). */
  clear(): void {
    this.watched.clear();
    this.live.clear();
  }
}
