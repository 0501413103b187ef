// An in-memory backplane for tests of what a broker does with one (not
// published: tsup bundles src/index.ts only): a fake of Redis or PostgreSQL
// shared by several brokers of one process, asynchronous as over a network,
// with per-topic history, and cuts that a catch-up follows.
import { setImmediate as tick } from "node:timers/promises";
import type { BackplaneEvent, BackplaneHost, BackplaneReplay } from "../adapter.js";
import type { Backplane, BackplaneStats, SSEEvent } from "../index.js";

/**
 * One "engine" shared by several {@link FakePlane}s: the global order
 * (`seq`), and every event published through it. `historySize` (default:
 * no limit) is how many events of each topic it retains for replays and
 * catch-ups; older ones are evicted. `up` false: unreachable (each plane
 * delivers its own publishes locally, with seq 0).
 */
export class FakeEngine {
  seq = 0;
  up = true;
  readonly planes: FakePlane[] = [];
  readonly log: BackplaneEvent[] = [];

  constructor(readonly historySize = Number.POSITIVE_INFINITY) {}

  /**
   * The retained events of `topics` after `after`, in order; undefined when
   * one of them was evicted (resuming there would leave a gap).
   */
  after(topics: readonly string[], after: number): BackplaneEvent[] | undefined {
    // A seq never issued (crafted, or of a reset engine): a miss, as Redis and PostgreSQL answer.
    if (after > this.seq) return undefined;
    const events: BackplaneEvent[] = [];
    for (const topic of topics) {
      const all = this.log.filter((e) => e.topic === topic);
      const evicted = Math.max(0, all.length - this.historySize);
      if (evicted > 0 && all[evicted - 1]!.seq > after) return undefined;
      events.push(...all.slice(evicted).filter((e) => e.seq > after));
    }
    return events.sort((x, y) => x.seq - y.seq).map((e) => ({ ...e, event: { ...e.event } }));
  }

  /** The latest retained event of `topic` (none when it retains none: history 0). */
  lastOf(topic: string): BackplaneEvent | undefined {
    if (this.historySize < 1) return undefined;
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i]!;
      if (e.topic === topic) return { ...e, event: { ...e.event } };
    }
    return undefined;
  }
}

/**
 * A backplane on a {@link FakeEngine}. Ids are `e-<seq>`. {@link FakePlane.cut}
 * stops its deliveries as a dropped connection would (its state `"down"`);
 * {@link FakePlane.restore} catches up as a backplane does: the missed
 * events of its topics in order, or, when some were evicted, none of them
 * and `host.lost(topics)`; then it reports `"ready"`.
 */
export class FakePlane implements Backplane {
  host: BackplaneHost | undefined;
  readonly watched = new Set<string>();
  readonly calls: string[] = [];
  closed = false;
  /** When set, replays wait for it. */
  gate: Promise<void> | undefined;
  /** When set, reads of a topic's latest event ({@link FakePlane.last}) wait for it. */
  lastGate: Promise<void> | undefined;
  /** When set, reads of the engine's head ({@link FakePlane.latest}) wait for it. */
  latestGate: Promise<void> | undefined;
  /** False while cut: live events do not reach it. */
  connected = true;
  /** The seq of the last event it delivered (where a catch-up reads from). */
  lastSeq = 0;
  private received = 0;
  private localOnly = 0;

  constructor(private readonly engine: FakeEngine) {
    engine.planes.push(this);
  }

  attach(host: BackplaneHost): void {
    this.host = host;
  }

  publish(topic: string, event: SSEEvent): void {
    this.calls.push(`publish ${topic}`);
    if (!this.engine.up) {
      this.localOnly++;
      this.host!.deliver(topic, { ...event }, 0);
      return;
    }
    const seq = ++this.engine.seq;
    const stored = { ...event };
    if (!stored.id && this.host!.historySize > 0) stored.id = `e-${seq}`;
    this.engine.log.push({ topic, event: stored, seq });
    setImmediate(() => {
      for (const plane of this.engine.planes) plane.live({ topic, event: stored, seq });
    });
  }

  watch(topic: string): void {
    this.calls.push(`watch ${topic}`);
    this.watched.add(topic);
  }

  unwatch(topic: string): void {
    this.calls.push(`unwatch ${topic}`);
    this.watched.delete(topic);
  }

  async replay(
    topics: readonly string[],
    lastEventId: string,
    _signal?: AbortSignal,
  ): Promise<BackplaneReplay | undefined> {
    this.calls.push(`replay ${lastEventId}`);
    await tick();
    await this.gate;
    const after = Number(/^e-(\d+)$/.exec(lastEventId)?.[1]);
    // Cut, it is not synced: a real backplane answers a miss then.
    if (!Number.isInteger(after) || !this.connected) return undefined;
    const events = this.engine.after(topics, after);
    // A barrier, as the real ones have: the live copies of what was read are delivered first.
    await tick();
    return events === undefined || !this.connected ? undefined : { after, events };
  }

  /** The id of the latest event through the engine (what `broker.cursor()` returns). */
  async latest(): Promise<string | undefined> {
    this.calls.push("latest");
    await this.latestGate;
    return `e-${this.engine.seq}`;
  }

  /**
   * The latest retained event of `topic`, read as a real backplane does:
   * asynchronously, undefined while cut or unreachable, and with a barrier
   * (the live copies of what was read are delivered first).
   */
  async last(topic: string, _signal?: AbortSignal): Promise<BackplaneEvent | undefined> {
    this.calls.push(`last ${topic}`);
    await tick();
    await this.lastGate;
    if (!this.connected || !this.engine.up) return undefined;
    const event = this.engine.lastOf(topic);
    await tick();
    return this.connected ? event : undefined;
  }

  /** Its connection drops: events published from now on do not reach it until {@link restore}. */
  cut(): void {
    this.connected = false;
    this.host?.report?.({ kind: "state", state: "down", previous: "ready" });
  }

  /** Its connection is back: it catches up (see the class), then goes live. */
  restore(): void {
    this.connected = true;
    const topics = [...this.watched];
    const missed = this.engine.after(topics, this.lastSeq);
    if (missed === undefined) {
      this.lastSeq = this.engine.seq;
      this.host!.lost?.(topics);
    } else for (const event of missed) this.deliver(event);
    this.host?.report?.({ kind: "state", state: "ready", previous: "down" });
  }

  stats(): BackplaneStats {
    return {
      state: this.engine.up && this.connected ? "ready" : "down",
      errors: 0,
      localOnly: this.localOnly,
      received: this.received,
      topics: this.watched.size,
    };
  }

  async close(): Promise<void> {
    this.calls.push("close");
    this.closed = true;
  }

  /** A live event from the engine: delivered when connected and watched. */
  private live(event: BackplaneEvent): void {
    if (this.closed || !this.connected) return;
    if (!this.watched.has(event.topic)) {
      if (event.seq > this.lastSeq) this.lastSeq = event.seq;
      return;
    }
    this.deliver({ ...event, event: { ...event.event } });
  }

  private deliver(event: BackplaneEvent): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    this.received++;
    this.host!.deliver(event.topic, event.event, event.seq);
  }
}
