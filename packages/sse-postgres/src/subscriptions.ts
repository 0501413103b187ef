/**
 * Which topic channels this process LISTENs to: those with a local client
 * (watched), and among them those whose LISTEN PostgreSQL has answered on
 * the current listening connection (live). Internal.
 */
import type { Link } from "./link.js";
import { channelOf } from "./payload.js";

/** Most topics whose channel name is remembered (a publish to each computes a hash otherwise). */
const MAX_KNOWN_CHANNELS = 10_000;

/** The listening connection's channels. Internal. */
export class Subscriptions {
  /** Topics with a local client, and the promise of their LISTEN's answer. */
  private readonly watched = new Map<string, Promise<void> | undefined>();
  /** Channel -> topic, for the watched topics. */
  private readonly channels = new Map<string, string>();
  /** Watched topics whose LISTEN was answered on the current connection. */
  private readonly live = new Set<string>();
  /** Topic -> channel, for the topics published or watched lately (at most {@link MAX_KNOWN_CHANNELS}). */
  private readonly known = new Map<string, string>();

  constructor(
    private readonly link: Link,
    private readonly prefix: string,
  ) {}

  /** Topics listened to now. */
  get size(): number {
    return this.live.size;
  }

  /** The topics watched now. */
  topics(): string[] {
    return [...this.watched.keys()];
  }

  /** Whether `topic` is listened to now: its events come back to this process. */
  isLive(topic: string): boolean {
    return this.live.has(topic);
  }

  /** The watched topic of `channel`, if any. */
  topicOf(channel: string): string | undefined {
    return this.channels.get(channel);
  }

  /** The channel of `topic` under the backplane's prefix (a hash: remembered for the topics in use). */
  channelOf(topic: string): string {
    let channel = this.known.get(topic);
    if (channel === undefined) {
      if (this.known.size >= MAX_KNOWN_CHANNELS) this.known.clear();
      channel = channelOf(this.prefix, topic);
      this.known.set(topic, channel);
    }
    return channel;
  }

  /** Settles once the LISTEN of each of `topics` sent so far is answered (rejects if one failed). */
  answered(topics: readonly string[]): Promise<unknown> {
    return Promise.all(topics.map((topic) => this.watched.get(topic)));
  }

  /** Watches `topic`: LISTENs now if the listening connection is up, else at the next sync. */
  watch(topic: string): void {
    if (this.watched.has(topic) || this.link.state === "closed") return;
    this.channels.set(this.channelOf(topic), topic);
    this.watched.set(topic, undefined);
    if (this.link.listening) this.listen([topic]);
  }

  /** Stops watching `topic`: UNLISTENs. */
  unwatch(topic: string): void {
    if (!this.watched.delete(topic)) return;
    const channel = this.channelOf(topic);
    this.channels.delete(channel);
    this.live.delete(topic);
    if (this.link.listening) this.link.listener!.query(`UNLISTEN "${channel}"`).catch(() => {});
  }

  /** LISTENs to the channels of `topics` on the current connection; marks them live once answered. */
  listen(topics: readonly string[]): Promise<void> {
    const sql = topics.map((topic) => `LISTEN "${this.channelOf(topic)}"`).join("; ");
    const answer = this.link.listener!.query(sql).then(() => {
      for (const topic of topics) if (this.watched.has(topic)) this.live.add(topic);
    });
    answer.catch(() => {});
    for (const topic of topics) if (this.watched.has(topic)) this.watched.set(topic, answer);
    return answer;
  }

  /** The listening connection is gone: nothing is live any more. */
  lost(): void {
    this.live.clear();
  }

  /** Forgets every topic (the backplane closes). */
  clear(): void {
    this.watched.clear();
    this.channels.clear();
    this.live.clear();
  }
}
