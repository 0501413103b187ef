// The convergence guarantee (issue #25, item 7) as a property, without a
// browser: random schedules of publishes to state and log topics, slow
// readers with a small buffer, disconnects that resume with the last id
// seen, pages connecting with a stale cursor, broker restarts (a new
// broker over the same app state), and pages whose handler renders
// snapshots of their own (a handler's `snapshot` option, every other call
// falling back to the shared one); at the end every page reads everything,
// and each region it rendered (a small model of htmx's swaps) must equal a
// fresh render of the app's state. A negative control runs the same
// schedules on a broker without the `topics` option (the seed's behaviour)
// and must find a page that does not converge.
//
// On wt-conv (4a9216f) the property and the HTTP version fail: the tests
// marked BUG at the end are the minimal schedules of what they find, each to
// turn green with its fix.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { listen, type RawClient, rawClient, waitFor } from "@burrow/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Client,
  EventBroker,
  handler,
  type SlowClientPolicy,
  type SSEEvent,
} from "../index.js";

// ---------------------------------------------------------------------------
// The app: its own state, rendered the way its page template renders it.

const STATE_TOPICS = ["st:a", "st:b"] as const;
const LOG_TOPICS = ["log-a", "log-b"] as const;
const TOPICS = [...STATE_TOPICS, ...LOG_TOPICS] as const;
type Topic = (typeof TOPICS)[number];

const isState = (topic: string): boolean => topic.startsWith("st:");
const targetOf = (topic: string): string => `#${topic}`;
const item = (n: number): string => `<li>n${n}</li>`;

/** The truth: each state topic's value, each log topic's items. */
class App {
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
function snapshotOf(app: App, ticks: number): (topic: string) => string | Promise<string> {
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
function policiesOf(app: App, ticks: number) {
  const snapshot = snapshotOf(app, ticks);
  return {
    "st:*": { kind: "state" as const, snapshot, target: targetOf },
    "log-a": { snapshot, target: targetOf("log-a") },
    "log-b": { snapshot, target: targetOf("log-b") },
  };
}

// ---------------------------------------------------------------------------
// A page: its regions, as htmx swaps events into them.

const SNAPSHOT = /^<hx-partial hx-target="([^"]*)" hx-swap="innerHTML">([\s\S]*)<\/hx-partial>$/;

/** Applies one event to `regions`: a snapshot replaces its target, a state event replaces, a log event appends. */
function swap(regions: Map<string, string>, event: SSEEvent): void {
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
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What a browser tab shows: its regions, rendered from the app at load, and the last event id it saw. */
class Rendered {
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
class Page extends Rendered {
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

type Step =
  | { kind: "publish"; topic: Topic }
  /** A page loads now; it connects now, or (a stale cursor) at a later `reconnect`. */
  | { kind: "load"; topics: Topic[]; connectNow: boolean }
  | { kind: "read"; page: number; count: number }
  | { kind: "reconnect"; page: number }
  /** The broker restarts: `graceful`, its pages read what it had queued first. */
  | { kind: "restart"; graceful: boolean }
  | { kind: "turn" };

const topicArb = fc.constantFrom(...TOPICS);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
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

interface Setup {
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

const setupArb: fc.Arbitrary<Setup> = fc.record({
  bufferSize: fc.integer({ min: 1, max: 3 }),
  historySize: fc.integer({ min: 1, max: 4 }),
  slowClient: fc.constantFrom<SlowClientPolicy>("drop-newest", "drop-oldest"),
  snapshotTicks: fc.constantFrom(0, 0, 1, 3),
  ownSnapshots: fc.boolean(),
});

/** A page's own snapshot renderer: every other call, the topic's shared one (undefined). */
function ownSnapshotOf(app: App, ticks: number): Page["renderSnapshot"] {
  const snapshot = snapshotOf(app, ticks);
  let calls = 0;
  return (topic) => (calls++ % 2 === 0 ? undefined : snapshot(topic));
}

const scheduleArb = fc.array(stepArb, { minLength: 1, maxLength: 40 });

/** A new broker whose ids cannot be mistaken for an earlier one's (history epochs are milliseconds). */
function newBroker(options: ConstructorParameters<typeof EventBroker>[0], after?: number) {
  while (after !== undefined && Date.now() <= after) {
    // A restart takes longer than a millisecond: so does this one.
  }
  return { broker: new EventBroker(options), at: Date.now() };
}

/** Events a page reads at most before the schedule counts as one that never settles. */
const READ_LIMIT = 2000;

/**
 * Lets `pages` read everything, snapshots settled: rounds until none reads
 * anything. False when they are still reading after {@link READ_LIMIT} events.
 */
async function settle(pages: readonly Page[]): Promise<boolean> {
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

/**
 * Runs `steps` with pages that all end by reading everything; returns a
 * description of each page whose regions differ from a fresh render (empty:
 * every page converged).
 */
async function run(setup: Setup, steps: readonly Step[], withTopics: boolean): Promise<string[]> {
  const app = new App();
  const options = {
    bufferSize: setup.bufferSize,
    historySize: setup.historySize,
    slowClient: setup.slowClient,
    ...(withTopics ? { topics: policiesOf(app, setup.snapshotTicks) } : {}),
  };
  let { broker, at } = newBroker(options);
  const pages: Page[] = [];
  const pageOf = (n: number): Page | undefined => pages[n % Math.max(pages.length, 1)];
  for (const step of steps) {
    switch (step.kind) {
      case "publish":
        broker.publish(step.topic, app.change(step.topic));
        break;
      case "load": {
        const page = new Page(step.topics, app, await broker.cursor());
        if (setup.ownSnapshots) page.renderSnapshot = ownSnapshotOf(app, setup.snapshotTicks);
        pages.push(page);
        if (step.connectNow) page.connect(broker);
        break;
      }
      case "read":
        await pageOf(step.page)?.read(step.count);
        break;
      case "reconnect": {
        const page = pageOf(step.page);
        if (page === undefined) break;
        page.disconnect(broker);
        page.connect(broker);
        break;
      }
      case "restart": {
        broker.close();
        if (step.graceful) for (const page of pages) await page.read(READ_LIMIT);
        for (const page of pages) page.disconnect(broker);
        ({ broker, at } = newBroker(options, at));
        for (const page of pages) page.connect(broker);
        break;
      }
      case "turn":
        await turn();
        break;
    }
  }
  for (const page of pages) if (!page.connected) page.connect(broker);
  const wrong: string[] = [];
  if (!(await settle(pages))) wrong.push("the pages never stop receiving events");
  broker.close();
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

/** The smallest setup: the minimal schedules below run on it. */
const TINY: Setup = {
  bufferSize: 1,
  historySize: 1,
  slowClient: "drop-newest",
  snapshotTicks: 0,
  ownSnapshots: false,
};

describe("convergence: every page ends at what a fresh load of it shows", () => {
  it("random schedules of publishes, slow readers, resumes, stale cursors and restarts", async () => {
    await fc.assert(
      fc.asyncProperty(setupArb, scheduleArb, async (setup, steps) => {
        expect(await run(setup, steps, true)).toEqual([]);
      }),
      // A fixed seed in the suite (CI stays reproducible); CONVERGENCE_SEED explores others.
      {
        numRuns: Number(process.env.CONVERGENCE_RUNS ?? 200),
        seed: Number(process.env.CONVERGENCE_SEED ?? 25),
      },
    );
  });

  // Found by a random seed in CI: a topic found gapped while a resume catches up is repaired, but
  // events of the client's other topics written before its snapshot carried ids past the gap; a
  // reconnect with such an id resumed the gapped topic exactly and its snapshot never came. Fixed:
  // until its repairs are written, a client is sent repair ids (`<epoch>-<seq>r`), and a resume
  // from one repairs the client's repairable topics again.
  it("BUG 6 (fixed): a page reconnecting before a mid-resume repair arrived keeps the gapped region wrong", async () => {
    const steps: Step[] = [
      { kind: "load", topics: ["log-a", "log-b"], connectNow: false },
      { kind: "reconnect", page: 0 },
      { kind: "publish", topic: "log-b" },
      { kind: "publish", topic: "log-b" },
      { kind: "publish", topic: "log-a" },
      { kind: "read", page: 0, count: 1 },
      { kind: "reconnect", page: 0 },
      { kind: "publish", topic: "st:a" },
    ];
    expect(await run(TINY, steps, true)).toEqual([]);
  });

  // Found by the property once pages rendered snapshots of their own (their
  // order then varies): after a restart, a page whose log topic's snapshot
  // went out before its state topic's, and that reconnected in between (with
  // the repair id the log snapshot carried), never got the state topic: a
  // resume from a repair id replayed state topics exactly, from a history
  // that held none of them.
  it("BUG 7: a page reconnecting between its log and state topics' repairs after a restart keeps the state region wrong", async () => {
    const steps: Step[] = [
      { kind: "load", topics: ["log-a", "st:a"], connectNow: false },
      { kind: "publish", topic: "st:a" },
      { kind: "restart", graceful: false },
      { kind: "read", page: 0, count: 1 },
      { kind: "reconnect", page: 0 },
      { kind: "read", page: 0, count: 1 },
    ];
    expect(await run(TINY, steps, true)).toEqual([]);
  });

  it("negative control: without the topics option (the seed's behaviour) some page stays wrong", async () => {
    const result = await fc.check(
      fc.asyncProperty(setupArb, scheduleArb, async (setup, steps) => {
        expect(await run(setup, steps, false)).toEqual([]);
      }),
      { numRuns: 200 },
    );
    expect(result.failed).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// BUG (found by the property above; the lead fixes them in wt-conv): minimal
// schedules, each failing on wt-conv at 4a9216f.

/** A page of `topics` on `broker`, rendered now from `app`. */
async function pageOn(broker: EventBroker, app: App, topics: Topic[]): Promise<Page> {
  const page = new Page(topics, app, await broker.cursor());
  page.connect(broker);
  return page;
}

/** Reconnects `page` (with the last id it saw), lets it read everything, and checks it converged. */
async function reconnected(broker: EventBroker, app: App, page: Page): Promise<void> {
  page.disconnect(broker);
  page.connect(broker);
  await settle([page]);
  expect(regionsOf(page)).toEqual(truthOf(app, page));
}

const regionsOf = (page: Page) => Object.fromEntries(page.regions);
const truthOf = (app: App, page: Page) =>
  Object.fromEntries(page.topics.map((topic) => [topic, app.render(topic)]));

describe("BUG: schedules that do not converge on wt-conv", () => {
  it("BUG 1 (fixed): history rotating while a resumed page catches up loses the evicted events (no snapshot)", async () => {
    const app = new App();
    const broker = new EventBroker({ historySize: 1, topics: policiesOf(app, 0) });
    const page = await pageOn(broker, app, ["log-a"]);
    broker.publish("log-a", app.change("log-a"));
    broker.publish("log-a", app.change("log-a"));
    await settle([page]);
    expect(regionsOf(page)).toEqual(truthOf(app, page));
  });

  it("BUG 2 (fixed): a page that reconnects after a snapshot gets again the events it covered", async () => {
    const app = new App();
    const broker = new EventBroker({ bufferSize: 1, historySize: 10, topics: policiesOf(app, 0) });
    const page = await pageOn(broker, app, ["log-a"]);
    await settle([page]);
    for (let i = 0; i < 3; i++) broker.publish("log-a", app.change("log-a"));
    await settle([page]);
    await reconnected(broker, app, page);
  });

  it("BUG 3 (fixed): a state topic's latest event, sent after newer events, moves the page's last id back", async () => {
    const app = new App();
    const broker = new EventBroker({ historySize: 10, topics: policiesOf(app, 0) });
    const page = new Page(["st:a", "log-a"], app, await broker.cursor());
    broker.publish("st:a", app.change("st:a"));
    broker.publish("log-a", app.change("log-a"));
    page.connect(broker);
    await settle([page]);
    await reconnected(broker, app, page);
  });

  it("BUG 5 (fixed, with a snapshot on state topics): after a restart a state topic's page keeps its old value (the new broker has no latest event)", async () => {
    const app = new App();
    const before = newBroker({ historySize: 4, topics: policiesOf(app, 0) });
    const page = await pageOn(before.broker, app, ["st:a"]);
    await settle([page]);
    before.broker.publish("st:a", app.change("st:a"));
    before.broker.close();
    page.disconnect(before.broker);
    const after = newBroker({ historySize: 4, topics: policiesOf(app, 0) }, before.at);
    page.connect(after.broker);
    await settle([page]);
    expect(regionsOf(page)).toEqual(truthOf(app, page));
  });

  it("BUG 4 (fixed): repairing more state topics at once than the buffer holds ends, each sent", async () => {
    // In a child process against the built package: the loop is synchronous, no timeout here could end it.
    const core = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
    const script = `
      const { EventBroker } = await import(${JSON.stringify(core)});
      const broker = new EventBroker({ bufferSize: 1, historySize: 4, topics: { "st:*": { kind: "state" } } });
      broker.publish("st:a", { data: "a" });
      broker.publish("st:b", { data: "b" });
      const client = broker.subscribe(["st:a", "st:b"], { lastEventId: "unknown" });
      const it = client[Symbol.asyncIterator]();
      const got = [(await it.next()).value.data, (await it.next()).value.data];
      console.log(got.sort().join(","));
    `;
    const run = promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 5000,
    });
    await expect(run).resolves.toMatchObject({ stdout: "a,b\n" });
  });
});

// ---------------------------------------------------------------------------
// The same guarantee through real HTTP: core's node handler on a node:http
// server, pages as raw SSE clients that reconnect with Last-Event-ID (a
// restart swaps the broker behind the server). A few seeds: the point is
// that the wire (ids, named events, the snapshot's <hx-partial>) carries it.

/** One page over HTTP: its regions, swapped from the parsed stream, and the last id it saw. */
class HttpPage extends Rendered {
  private stream: RawClient | undefined;
  private applied = 0;

  async connect(port: number): Promise<void> {
    const headers: Record<string, string> =
      this.lastId === undefined ? {} : { "Last-Event-ID": this.lastId };
    this.stream = rawClient(port, "/", { headers });
    this.applied = 0;
    await this.stream.ready;
  }

  /** Swaps in what arrived since the last call. */
  catchUp(): void {
    const events = this.stream?.events ?? [];
    for (; this.applied < events.length; this.applied++) {
      const { event, data, id } = events[this.applied]!;
      this.apply({ type: event, data, id });
    }
  }

  disconnect(): void {
    this.catchUp();
    this.stream?.close();
    this.stream = undefined;
  }
}

type HttpStep = { kind: "publish"; topic: Topic } | { kind: "reconnect" } | { kind: "restart" };

const httpStepArb: fc.Arbitrary<HttpStep> = fc.oneof(
  { weight: 6, arbitrary: topicArb.map((topic) => ({ kind: "publish" as const, topic })) },
  { weight: 1, arbitrary: fc.constant({ kind: "reconnect" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

describe("convergence over HTTP", () => {
  it("pages on a node:http server, reconnecting with Last-Event-ID, end at a fresh load", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(httpStepArb, { minLength: 1, maxLength: 20 }), async (steps) => {
        const app = new App();
        const options = { historySize: 2, topics: policiesOf(app, 1) };
        let current = newBroker(options);
        const server = await listen((req, res) =>
          handler(current.broker, [...TOPICS], { keepaliveMs: 0 })(req, res),
        );
        const page = new HttpPage(TOPICS, app, await current.broker.cursor());
        try {
          await page.connect(server.port);
          await waitFor(() => current.broker.stats().clients === 1, "the page's stream");
          for (const step of steps) {
            if (step.kind === "publish") {
              current.broker.publish(step.topic, app.change(step.topic));
              continue;
            }
            page.disconnect();
            await waitFor(() => current.broker.stats().clients === 0, "the page to leave");
            if (step.kind === "restart") {
              current.broker.close();
              current = newBroker(options, current.at);
            }
            await page.connect(server.port);
            await waitFor(() => current.broker.stats().clients === 1, "the page's stream");
          }
          const converged = () => {
            page.catchUp();
            return TOPICS.every((topic) => page.regions.get(topic) === app.render(topic));
          };
          await waitFor(converged, "the page to converge", 2000).catch(() => {});
          expect(Object.fromEntries(page.regions)).toEqual(
            Object.fromEntries(TOPICS.map((topic) => [topic, app.render(topic)])),
          );
        } finally {
          page.disconnect();
          current.broker.close();
          await server.close();
        }
      }),
      { numRuns: 5, seed: 25 },
    );
  });
});
