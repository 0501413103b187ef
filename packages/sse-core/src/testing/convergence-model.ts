// The convergence model shared by the property tests (not published: tsup
// bundles src/index.ts only): an app with state and log topics rendered as
// its page template would, pages that swap events into their regions as
// htmx does, and random schedules of what happens to them.
import fc from "fast-check";
import { type Client, EventBroker, type SlowClientPolicy, type SSEEvent } from "../index.js";

// ---------------------------------------------------------------------------
// The app: its own state, rendered the way its page template renders it.

export const STATE_TOPICS = ["st:a", "st:b"] as const;
export const LOG_TOPICS = ["log-a", "log-b"] as const;
export const TOPICS = [...STATE_TOPICS, ...LOG_TOPICS] as const;
export type Topic = (typeof TOPICS)[number];

export const isState = (topic: string): boolean => topic.startsWith("st:");
export const targetOf = (topic: string): string => `#${topic}`;
export const item = (n: number): string => `<li>n${n}</li>`;

/** The truth: each state topic's value, each log topic's items. */
export class App {
  private readonly states = new Map<string, string>();
  private readonly logs = new Map<string, number[]>();
  private count = 0;

  /** Changes `topic`'s state; returns the event the app publishes for it. */
  change(topic: Topic): SSEEvent {
    const n = ++this.count;
    if (isState(topic)) {
      this.states.set(topic, `v${n}`);
      return { data: `v${n}` };
    }
    const list = this.logs.get(topic) ?? [];
    list.push(n);
    this.logs.set(topic, list);
    return { data: item(n) };
  }

  /** `topic`'s region as a fresh load of the page renders it. */
  render(topic: string): string {
    if (isState(topic)) return this.states.get(topic) ?? "";
    return (this.logs.get(topic) ?? []).map(item).join("");
  }
}

/** A snapshot renderer: the state as of its call, returned after `ticks` turns of the event loop. */
export function snapshotOf(app: App, ticks: number): (topic: string) => string | Promise<string> {
  if (ticks === 0) return (topic) => app.render(topic);
  return async (topic) => {
    const html = app.render(topic);
    for (let i = 0; i < ticks; i++) await turn();
    return html;
  };
}

/**
 * The broker's `topics` option for `app`: state topics by pattern (with a
 * snapshot for when the broker knows no latest event, after a restart),
 * log topics with a snapshot.
 */
export function policiesOf(app: App, ticks: number) {
  const snapshot = snapshotOf(app, ticks);
  return {
    "st:*": { kind: "state" as const, snapshot, target: targetOf },
    "log-a": { snapshot, target: targetOf("log-a") },
    "log-b": { snapshot, target: targetOf("log-b") },
  };
}

// ---------------------------------------------------------------------------
// A page: its regions, as htmx swaps events into them.

export const SNAPSHOT =
  /^<hx-partial hx-target="([^"]*)" hx-swap="innerHTML">([\s\S]*)<\/hx-partial>$/;

/** Applies one event to `regions`: a snapshot replaces its target, a state event replaces, a log event appends. */
export function swap(regions: Map<string, string>, event: SSEEvent): void {
  const topic = event.type ?? "";
  const data = event.data ?? "";
  const snapshot = SNAPSHOT.exec(data);
  if (snapshot !== null) {
    const region = TOPICS.find((t) => targetOf(t) === snapshot[1]);
    if (region === undefined || region !== topic)
      throw new Error(`snapshot of ${topic} for ${snapshot[1]}`);
    regions.set(region, snapshot[2]!);
  } else if (!regions.has(topic)) throw new Error(`an event of ${topic}, not a topic of the page`);
  else if (isState(topic)) regions.set(topic, data);
  else regions.set(topic, regions.get(topic) + data);
}

/** Lets the event loop turn once (async snapshots and flushes run). */
export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What a browser tab shows: its regions, rendered from the app at load, and the last event id it saw. */
export class Rendered {
  readonly regions = new Map<string, string>();
  /** What a reconnect sends as `Last-Event-ID`: the last id seen, else the page's cursor. */
  lastId: string | undefined;
  readonly log: string[] = [];

  constructor(
    readonly topics: readonly Topic[],
    app: App,
    cursor: string | undefined,
  ) {
    for (const topic of topics) this.regions.set(topic, app.render(topic));
    this.lastId = cursor;
  }

  /** Swaps `event` in, as htmx would, and remembers its id, as EventSource does. */
  apply(event: SSEEvent): void {
    this.log.push(`${event.id ?? "-"} ${event.type}: ${event.data}`);
    swap(this.regions, event);
    if (event.id !== undefined) this.lastId = event.id;
  }
}

/**
 * One browser tab: rendered from the app with a cursor, then connected; it
 * reads its client a few events at a time, and reconnects (after a
 * disconnect or a restart) with the last event id it saw, else its cursor,
 * as EventSource does with the page's `?lastEventId=`.
 */
export class Page extends Rendered {
  /** Its handler's `snapshot` option, bound to its request, if it has one. */
  renderSnapshot: ((topic: string) => string | Promise<string> | undefined) | undefined;
  private client: Client | undefined;
  private iterator: AsyncIterator<SSEEvent> | undefined;
  /** A `next()` that has not settled yet: the next event, when one comes. */
  private pending: Promise<IteratorResult<SSEEvent>> | undefined;

  get connected(): boolean {
    return this.client !== undefined;
  }

  connect(broker: EventBroker): void {
    const options = {
      ...(this.lastId === undefined ? {} : { lastEventId: this.lastId }),
      ...(this.renderSnapshot === undefined ? {} : { renderSnapshot: this.renderSnapshot }),
    };
    this.log.push(`connect ${this.lastId ?? "-"}`);
    this.client = broker.subscribe([...this.topics], options);
    this.iterator = this.client[Symbol.asyncIterator]();
    this.pending = undefined;
  }

  /** The tab goes away: what the client had queued is lost. */
  disconnect(broker: EventBroker): void {
    if (this.client !== undefined) broker.unsubscribe(this.client);
    this.client = undefined;
    this.iterator = undefined;
    this.pending = undefined;
  }

  /** Reads up to `max` events queued now (without waiting for more); returns how many it read. */
  async read(max: number): Promise<number> {
    let read = 0;
    while (read < max && this.iterator !== undefined) {
      const iterator = this.iterator;
      this.pending ??= iterator.next();
      const next = await Promise.race([this.pending, turn().then(() => "idle" as const)]);
      if (next === "idle" || iterator !== this.iterator) break;
      this.pending = undefined;
      if (next.done) {
        this.client = undefined;
        this.iterator = undefined;
        break;
      }
      this.apply(next.value);
      read++;
    }
    return read;
  }
}

// ---------------------------------------------------------------------------
// Schedules.

export type Step =
  | { kind: "publish"; topic: Topic }
  /** A page loads now; it connects now, or (a stale cursor) at a later `reconnect`. */
  | { kind: "load"; topics: Topic[]; connectNow: boolean }
  | { kind: "read"; page: number; count: number }
  | { kind: "reconnect"; page: number }
  /** The broker restarts: `graceful`, its pages read what it had queued first. */
  | { kind: "restart"; graceful: boolean }
  | { kind: "turn" };

export const topicArb = fc.constantFrom(...TOPICS);
export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: topicArb.map((topic) => ({ kind: "publish" as const, topic })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("load" as const),
      topics: fc.shuffledSubarray([...TOPICS], { minLength: 1 }),
      connectNow: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      page: fc.nat(),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.nat().map((page) => ({ kind: "reconnect" as const, page })) },
  {
    weight: 1,
    arbitrary: fc.boolean().map((graceful) => ({ kind: "restart" as const, graceful })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "turn" as const }) },
);

export interface Setup {
  bufferSize: number;
  historySize: number;
  slowClient: SlowClientPolicy;
  /** 0: a synchronous snapshot; else the event-loop turns an async one takes. */
  snapshotTicks: number;
  /**
   * Pages render snapshots of their own (a handler's `snapshot` option),
   * every other call returning undefined (the topic's shared one instead).
   */
  ownSnapshots: boolean;
}

export const setupArb: fc.Arbitrary<Setup> = fc.record({
  bufferSize: fc.integer({ min: 1, max: 3 }),
  historySize: fc.integer({ min: 1, max: 4 }),
  slowClient: fc.constantFrom<SlowClientPolicy>("drop-newest", "drop-oldest"),
  snapshotTicks: fc.constantFrom(0, 0, 1, 3),
  ownSnapshots: fc.boolean(),
});

/** A page's own snapshot renderer: every other call, the topic's shared one (undefined). */
export function ownSnapshotOf(app: App, ticks: number): Page["renderSnapshot"] {
  const snapshot = snapshotOf(app, ticks);
  let calls = 0;
  return (topic) => (calls++ % 2 === 0 ? undefined : snapshot(topic));
}

export const scheduleArb = fc.array(stepArb, { minLength: 1, maxLength: 40 });

/** A new broker whose ids cannot be mistaken for an earlier one's (history epochs are milliseconds). */
export function newBroker(options: ConstructorParameters<typeof EventBroker>[0], after?: number) {
  while (after !== undefined && Date.now() <= after) {
    // A restart takes longer than a millisecond: so does this one.
  }
  return { broker: new EventBroker(options), at: Date.now() };
}

/** Events a page reads at most before the schedule counts as one that never settles. */
export const READ_LIMIT = 2000;

/**
 * Lets `pages` read everything, snapshots settled: rounds until none reads
 * anything. False when they are still reading after {@link READ_LIMIT} events.
 */
export async function settle(pages: readonly Page[]): Promise<boolean> {
  let total = 0;
  for (let quiet = 0; quiet < 3; ) {
    let read = 0;
    for (const page of pages) read += await page.read(READ_LIMIT);
    total += read;
    if (total > READ_LIMIT) return false;
    quiet = read === 0 ? quiet + 1 : 0;
    for (let i = 0; i < 4; i++) await turn();
  }
  return true;
}

/** How each of `pages` differs from a fresh render of `app`'s state (empty: every page converged). */
export function differences(app: App, pages: readonly Page[]): string[] {
  const wrong: string[] = [];
  pages.forEach((page, n) => {
    for (const topic of page.topics) {
      const want = app.render(topic);
      const got = page.regions.get(topic);
      if (got !== want) {
        wrong.push(
          `page ${n} region ${topic}: shows ${JSON.stringify(got)}, a fresh load ${JSON.stringify(want)}\n  read: ${page.log.join("\n        ")}`,
        );
      }
    }
  });
  return wrong;
}
