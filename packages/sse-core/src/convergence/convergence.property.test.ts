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
import { EventBroker, handler } from "../index.js";
import {
  App,
  differences,
  newBroker,
  ownSnapshotOf,
  Page,
  policiesOf,
  READ_LIMIT,
  Rendered,
  type Setup,
  type Step,
  scheduleArb,
  settle,
  setupArb,
  TOPICS,
  type Topic,
  topicArb,
  turn,
} from "../testing/convergence-model.js";

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
  wrong.push(...differences(app, pages));
  return wrong;
}

/** The smallest setup: the minimal schedules below run on it. */
const TINY_SETUP: Setup = {
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
    const setup = {
      bufferSize: 1,
      historySize: 1,
      slowClient: "drop-newest",
      snapshotTicks: 0,
      ownSnapshots: false,
    } as const;
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
    expect(await run(setup, steps, true)).toEqual([]);
  });

  it("BUG 7 (fixed): after a restart, a state topic's snapshot in flight overtakes its newer events", async () => {
    const setup = {
      bufferSize: 1,
      historySize: 1,
      slowClient: "drop-newest",
      snapshotTicks: 3,
      ownSnapshots: false,
    } as const;
    const steps: Step[] = [
      { kind: "load", topics: ["st:a", "log-a"], connectNow: false },
      { kind: "restart", graceful: false },
      { kind: "publish", topic: "st:a" },
      { kind: "read", page: 0, count: 1 },
      { kind: "publish", topic: "st:a" },
      { kind: "publish", topic: "log-a" },
      { kind: "publish", topic: "st:a" },
    ];
    expect(await run(setup, steps, true)).toEqual([]);
  });

  it("BUG 8 (fixed): a reconnect with a repair id loses a state topic's event", async () => {
    const setup = {
      bufferSize: 1,
      historySize: 1,
      slowClient: "drop-oldest",
      snapshotTicks: 0,
      ownSnapshots: false,
    } as const;
    const steps: Step[] = [
      { kind: "load", topics: ["st:a", "log-a", "log-b"], connectNow: true },
      { kind: "read", page: 0, count: 1 },
      { kind: "publish", topic: "st:a" },
      { kind: "publish", topic: "log-a" },
      { kind: "read", page: 0, count: 1 },
      { kind: "reconnect", page: 0 },
      { kind: "load", topics: ["log-b"], connectNow: false },
    ];
    expect(await run(setup, steps, true)).toEqual([]);
  });

  // Found by the property once pages rendered snapshots of their own (their
  // order then varies): after a restart, a page whose log topic's snapshot
  // went out before its state topic's, and that reconnected in between (with
  // the repair id the log snapshot carried), never got the state topic.
  it("BUG 9 (fixed): a page reconnecting between its log and state topics' repairs after a restart keeps the state region wrong", async () => {
    const setup = { ...TINY_SETUP };
    const steps: Step[] = [
      { kind: "load", topics: ["log-a", "st:a"], connectNow: false },
      { kind: "publish", topic: "st:a" },
      { kind: "restart", graceful: false },
      { kind: "read", page: 0, count: 1 },
      { kind: "reconnect", page: 0 },
      { kind: "read", page: 0, count: 1 },
    ];
    expect(await run(setup, steps, true)).toEqual([]);
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
