/**
 * The guarantees every backplane (Redis, PostgreSQL) gives across
 * processes, run against each with three server child processes (see
 * `backplane-server.ts`) on one topic space: one global order, each
 * process's own publishing order, resume on another process with no gap and
 * no duplicate, cursors that resume anywhere, and ids from elsewhere that
 * resume nothing. What only one engine does stays in its package.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { killServers, listening, type ServerProcess } from "./backplane-server.js";
import { rawClient, recordEvents } from "./clients.js";
import { take, waitFor } from "./waits.js";

/** How the suite runs against one backplane. */
export interface BackplaneProcessesHarness {
  /** `describe` that skips (or fails under CI) without the engine. */
  describe(name: string, body: () => void): void;
  /** The engine's name in test titles ("Redis", "PostgreSQL"). */
  engine: string;
  /** A topic space (prefix) no other test uses. */
  uniquePrefix(): string;
  /** Starts a server process on `prefix`, on the shared engine. */
  start(prefix: string): Promise<ServerProcess>;
  /** Removes what the backplane stored under `prefix`. */
  drop(prefix: string): Promise<void>;
}

/** The sequence number of a global id `<epoch>-<seq>`. */
function seqOf(id: string | undefined): number {
  return Number(id?.split("-")[1]);
}

/**
 * Runs the multi-process cases against `harness`: three server processes
 * started at once on a fresh prefix, left without clients after each test.
 */
export function describeBackplaneProcesses(harness: BackplaneProcessesHarness): void {
  const prefix = harness.uniquePrefix();
  let servers: ServerProcess[] = [];
  const three = () => servers as [ServerProcess, ServerProcess, ServerProcess];

  harness.describe(`several server processes on one ${harness.engine}`, () => {
    beforeAll(async () => {
      // Started at once on a fresh prefix: each sets up its storage, none fails.
      servers = await Promise.all([0, 1, 2].map(() => harness.start(prefix)));
      for (const server of servers) await listening(server, 0);
    });

    afterEach(async () => {
      // Each test leaves the servers as it found them: no client.
      for (const server of servers) {
        await waitFor(async () => (await server.stats()).clients === 0, "clients to leave");
      }
    });

    afterAll(async () => {
      const codes = await Promise.all(servers.map((server) => server.stop()));
      killServers();
      await harness.drop(prefix);
      expect(codes).toEqual([0, 0, 0]);
    });

    it("delivers every event, published concurrently on any process, to clients of every process in one order", async () => {
      const clients = servers.map((server) =>
        recordEvents(`${server.url}/events?topics=a,b`, ["a", "b"]),
      );
      await Promise.all(clients.map((client) => client.opened));
      for (const server of servers) await listening(server, 2);
      const total = 150;
      // Published concurrently from the three processes, so that they interleave.
      await Promise.all(
        Array.from({ length: total }, (_, i) =>
          servers[i % 3]!.publish(i % 2 ? "a" : "b", `p${i % 3}-${i}`),
        ),
      );
      const received = await Promise.all(clients.map((client) => client.waitForCount(total)));
      for (const client of clients) client.close();
      const [first, ...others] = received.map((events) =>
        events.map((e) => `${e.event} ${e.data} ${e.id}`),
      );
      for (const other of others) expect(other).toEqual(first);
      expect(new Set(received[0]!.map((e) => e.data))).toEqual(
        new Set(Array.from({ length: total }, (_, i) => `p${i % 3}-${i}`)),
      );
      const seqs = received[0]!.map((e) => seqOf(e.id));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      // Each event on the topic it was published on.
      const topicOf = new Map(received[0]!.map((e) => [e.data, e.event]));
      for (let i = 0; i < total; i++) {
        expect(topicOf.get(`p${i % 3}-${i}`)).toBe(i % 2 ? "a" : "b");
      }
    });

    it("keeps each process's own publishing order while two processes publish bursts at once", async () => {
      const [a, b, c] = three();
      const client = recordEvents(`${c.url}/events?topics=a,b`, ["a", "b"]);
      await client.opened;
      await listening(c, 2);
      // 20 publishes per 10 ms from each of a (on topic a) and b (on topic b).
      await Promise.all([a.flood("a", 20, 16, 200), b.flood("b", 20, 16, 200)]);
      const events = await client.waitForCount(400);
      client.close();
      const numbers = (topic: string) =>
        events.filter((e) => e.event === topic).map((e) => Number(e.data.split(" ")[0]));
      const inOrder = Array.from({ length: 200 }, (_, i) => i);
      expect(numbers("a")).toEqual(inOrder);
      expect(numbers("b")).toEqual(inOrder);
      const seqs = events.map((e) => seqOf(e.id));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
      for (const server of [a, b]) expect(await server.stopFlood()).toBe(200);
    });

    it("a client that leaves one process resumes on another exactly where it stopped, while events keep coming", async () => {
      const [a, b, c] = three();
      const first = recordEvents(`${a.url}/events?topics=a,b`, ["a", "b"]);
      await first.opened;
      await listening(a, 2);
      for (let i = 0; i < 10; i++) await c.publish(i % 2 ? "a" : "b", String(i));
      const seen = await first.waitForCount(10);
      first.close();
      const lastId = seen[9]!.id!;
      for (let i = 10; i < 20; i++) await c.publish(i % 2 ? "a" : "b", String(i));
      const resumedBefore = (await b.stats()).resumed;

      // Reconnects to b while c keeps publishing: no gap, no duplicate at the seam.
      const publishing = (async () => {
        for (let i = 20; i < 60; i++) await c.publish(i % 2 ? "a" : "b", String(i));
      })();
      const back = rawClient(b.port, "/events?topics=b,a", {
        headers: { "Last-Event-ID": lastId },
      });
      await publishing;
      await waitFor(() => back.events.length >= 50, `50 events on b (have ${back.events.length})`);
      await c.publish("a", "60");
      await waitFor(() => back.events.length >= 51, "the live event after the resume");
      back.close();
      expect(back.events.map((e) => Number(e.data))).toEqual(
        Array.from({ length: 51 }, (_, i) => i + 10),
      );
      expect((await b.stats()).resumed).toBe(resumedBefore + 1);
    });

    it("a page rendered on one process with broker.cursor() gets, on another, everything published after rendering", async () => {
      const [a, b, c] = three();
      const published = Number((await c.stats()).backplane.published);
      await c.publish("a", "before");
      // publish() returns before the engine ordered the event: the page is rendered after that.
      await waitFor(
        async () => Number((await c.stats()).backplane.published) > published,
        "c's event to be ordered",
      );
      const cursor = await a.cursor();
      expect(cursor).toMatch(/^[0-9a-z]+-\d+$/);
      await c.publish("a", "between rendering and connecting");
      const client = rawClient(b.port, `/events?topics=a&lastEventId=${cursor}`);
      await waitFor(() => client.events.length >= 1, "the event published after rendering");
      await listening(b, 1);
      await c.publish("a", "live");
      await waitFor(() => client.events.length >= 2, "the live event");
      client.close();
      expect(client.events.map((e) => e.data)).toEqual([
        "between rendering and connecting",
        "live",
      ]);
    });

    it("a cursor from latest() (broker.cursor()) on one process resumes on another with exactly the events published after it", async () => {
      const [a, b, c] = three();
      const cursor = await a.cursor();
      expect(cursor).toMatch(/^[0-9a-z]+-\d+$/);
      for (const [topic, data] of [
        ["a", "1"],
        ["b", "2"],
        ["a", "3"],
      ] as const) {
        await c.publish(topic, data);
      }
      const back = rawClient(b.port, "/events?topics=a", {
        headers: { "Last-Event-ID": cursor! },
      });
      await waitFor(() => back.events.length >= 2, "the replay on b");
      await c.publish("a", "live");
      await waitFor(() => back.events.length >= 3, "the live event after the replay");
      back.close();
      expect(back.events.map((e) => e.data)).toEqual(["1", "3", "live"]);
    });

    it(`an id from another ${harness.engine} or prefix resumes nothing: the client is told to resync, then gets live events`, async () => {
      const b = servers[1]!;
      const client = rawClient(b.port, "/events?topics=a", {
        headers: { "Last-Event-ID": "zzzzzzzz-12" },
      });
      await client.ready;
      await waitFor(async () => (await b.stats()).clients === 1, "the client on b");
      await listening(b, 1);
      await servers[2]!.publish("a", "after");
      await waitFor(() => client.events.length >= 2, "the resync signal and the live event");
      client.close();
      expect(client.events.map((e) => e.event)).toEqual(["resync", "a"]);
      expect(client.events[1]?.data).toBe("after");
    });
  });
}

/**
 * Waits until a backplane (or a broker, through `stats().backplane`) is
 * ready and receives at least `topics` topics.
 */
export async function backplaneReady(
  of: { stats(): { state?: string; topics?: number; backplane?: unknown } },
  topics = 0,
): Promise<void> {
  const stats = () => {
    const all = of.stats();
    return (all.backplane ?? all) as { state?: string; topics?: number };
  };
  await waitFor(
    () => stats().state === "ready" && (stats().topics ?? 0) >= topics,
    "the backplane to be ready",
  );
}

/** An event as a broker's client yields it (core's `SSEEvent`). */
export interface SuiteEvent {
  type?: string;
  data?: string;
  id?: string;
}

/** What the in-process suite uses of a backplane (core's `Backplane`). */
export interface SuiteBackplane {
  replay(
    topics: readonly string[],
    lastEventId: string,
  ): Promise<{ events: { topic: string; event: SuiteEvent }[] } | undefined>;
  latest?(): Promise<string | undefined>;
  last?(topic: string): Promise<{ topic: string; event: SuiteEvent; seq: number } | undefined>;
  stats(): { state: string; topics: number; received: number };
  close(): Promise<void>;
}

/** What the in-process suite uses of core's `EventBroker`. */
export interface SuiteBackplaneBroker<C extends AsyncIterable<SuiteEvent>> {
  subscribe(topics: string | string[], options?: { lastEventId?: string; snapshot?: boolean }): C;
  unsubscribe(client: C): void;
  publish(topic: string, event: { data: string; id?: string }): number;
  stats(): { resumed: number; resumeMisses: number };
  cursor(): Promise<string | undefined>;
  close(): void;
}

/** How the in-process suite runs against one backplane. */
export interface BackplaneHarness<C extends AsyncIterable<SuiteEvent>> {
  /** `describe` that skips (or fails under CI) without the engine. */
  describe(name: string, body: () => void): void;
  /** The package, as it starts its messages ("sse-redis"). */
  name: string;
  /** A topic space (prefix) no other test uses. */
  uniquePrefix(): string;
  /** A backplane on `prefix`, on the shared engine, that logs nothing. */
  backplane(prefix: string): SuiteBackplane;
  /** `new EventBroker({ historySize, bufferSize: 1000, backplane, topics })`. */
  broker(
    backplane: SuiteBackplane,
    historySize?: number,
    topics?: Record<string, { kind: "state" }>,
  ): SuiteBackplaneBroker<C>;
  /** How many events the engine stores under `prefix`, by topic (a topic with a store, even empty, is listed). */
  stored(prefix: string): Promise<Record<string, number>>;
  /** Removes what the backplane stored under `prefix`. */
  drop(prefix: string): Promise<void>;
}

/**
 * Runs the in-process cases against `harness` (one broker per backplane,
 * each test on its own prefix). The backplane's own cases stay in its package.
 */
export function describeBackplane<C extends AsyncIterable<SuiteEvent>>(
  harness: BackplaneHarness<C>,
): void {
  const prefixes: string[] = [];
  const brokers: SuiteBackplaneBroker<C>[] = [];
  const backplanes = new Map<SuiteBackplaneBroker<C>, SuiteBackplane>();

  /** A broker on a new backplane (on a new prefix unless given one), closed after the test. */
  function broker(options: { historySize?: number; prefix?: string } = {}) {
    const prefix = options.prefix ?? harness.uniquePrefix();
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
    const backplane = harness.backplane(prefix);
    const created = harness.broker(backplane, options.historySize ?? 10);
    backplanes.set(created, backplane);
    brokers.push(created);
    return created;
  }

  const statsOf = (b: SuiteBackplaneBroker<C>) => backplanes.get(b)!.stats();
  const ready = (b: SuiteBackplaneBroker<C>, topics = 0) =>
    backplaneReady(backplanes.get(b)!, topics);

  harness.describe(`${harness.name}: the backplane in one process, on the real engine`, () => {
    afterEach(() => {
      for (const b of brokers.splice(0)) b.close();
      backplanes.clear();
    });

    afterAll(async () => {
      for (const prefix of prefixes) await harness.drop(prefix);
    });

    it("receives a topic only while a local client watches it", async () => {
      const b = broker();
      const other = broker({ prefix: prefixes.at(-1)! });
      const x1 = b.subscribe(["x", "y"]);
      const x2 = b.subscribe("x");
      await Promise.all([ready(b, 2), ready(other)]);
      b.unsubscribe(x1);
      await waitFor(() => statsOf(b).topics === 1, "y to be unwatched");
      other.publish("y", { data: "not for b" });
      other.publish("x", { data: "for b" });
      expect((await take(x2, 1))[0]?.data).toBe("for b");
      // y's event came before x's in the order: had b still received y, it would have counted it.
      expect(statsOf(b).received).toBe(1);
      b.unsubscribe(x2);
      await waitFor(() => statsOf(b).topics === 0, "x to be unwatched");
    });

    it("keeps historySize events per topic; a resume after an evicted event is a miss, a later one replays", async () => {
      const b = broker({ historySize: 3 });
      const prefix = prefixes.at(-1)!;
      const watcher = b.subscribe("x");
      await ready(b, 1);
      for (let i = 1; i <= 5; i++) b.publish("x", { data: String(i) });
      b.publish("y", { data: "other topic" });
      const seen = await take(watcher, 5);
      expect(await harness.stored(prefix)).toEqual({ x: 3, y: 1 });
      const evicted = b.subscribe("x", { lastEventId: seen[0]!.id! });
      const kept = b.subscribe("x", { lastEventId: seen[1]!.id! });
      expect((await take(kept, 3)).map((e) => e.data)).toEqual(["3", "4", "5"]);
      b.publish("x", { data: "6" });
      expect((await take(evicted, 1)).map((e) => e.data)).toEqual(["6"]);
      expect(b.stats()).toMatchObject({ resumed: 1, resumeMisses: 1 });
    });

    it("gives events global ids `<epoch>-<seq>`, keeps explicit ids, and resumes only from its own", async () => {
      const b = broker();
      const watcher = b.subscribe("x");
      await ready(b, 1);
      b.publish("x", { data: "1" });
      b.publish("x", { data: "2", id: "mine" });
      const [auto, explicit] = await take(watcher, 2);
      expect(auto?.id).toMatch(/^[0-9a-z]+-1$/);
      expect(explicit).toEqual({ type: "x", data: "2", id: "mine" });
      const fromExplicit = b.subscribe("x", { lastEventId: "mine" });
      b.publish("x", { data: "3" });
      expect((await take(fromExplicit, 1)).map((e) => e.data)).toEqual(["3"]);
      expect(b.stats().resumeMisses).toBe(1);
      // A crafted id of this epoch past the head names no event ever issued: a miss, not "current".
      const crafted = `${auto!.id!.split("-")[0]}-${Number(auto!.id!.split("-")[1]) + 1000}`;
      expect(await backplanes.get(b)!.replay(["x"], crafted)).toBeUndefined();
    });

    it("without history, stores nothing, assigns no id, and has no cursor", async () => {
      const b = broker({ historySize: 0 });
      const prefix = prefixes.at(-1)!;
      const watcher = b.subscribe("x");
      await ready(b, 1);
      b.publish("x", { data: "1" });
      expect(await take(watcher, 1)).toEqual([{ type: "x", data: "1" }]);
      expect(await harness.stored(prefix)).toEqual({});
      expect(await b.cursor()).toBe(undefined);
      expect(await backplanes.get(b)!.latest?.()).toBeUndefined();
    });

    it("brokers on different prefixes do not share topics", async () => {
      const one = broker();
      const other = broker();
      const a = one.subscribe("x");
      const b = other.subscribe("x");
      await Promise.all([ready(one, 1), ready(other, 1)]);
      other.publish("x", { data: "other" });
      one.publish("x", { data: "one" });
      expect((await take(a, 1))[0]?.data).toBe("one");
      expect((await take(b, 1))[0]?.data).toBe("other");
    });

    it("serves one broker only, and closes with it", async () => {
      const prefix = harness.uniquePrefix();
      prefixes.push(prefix);
      const backplane = harness.backplane(prefix);
      const b = harness.broker(backplane);
      expect(() => harness.broker(backplane)).toThrow(
        `${harness.name}: backplane: already attached`,
      );
      await waitFor(() => backplane.stats().state === "ready", "ready");
      b.close();
      await backplane.close();
      expect(backplane.stats().state).toBe("closed");
      expect(b.publish("x", { data: "after close" })).toBe(0);
    });

    it("latest(): replay after it returns exactly the events published since, on an empty prefix and after events", async () => {
      const b = broker({ historySize: 10 });
      const backplane = backplanes.get(b)!;
      const watcher = b.subscribe(["x", "y"]);
      await ready(b, 2);
      // Nothing published under this prefix yet: the epoch is set now, and the seq is 0.
      const empty = await backplane.latest!();
      expect(empty).toMatch(/^[0-9a-z]+-0$/);
      b.publish("x", { data: "1" });
      b.publish("y", { data: "2" });
      b.publish("x", { data: "3" });
      const first = await take(watcher, 3);
      expect(first[0]?.id?.split("-")[0]).toBe(empty!.split("-")[0]);
      const fromEmpty = await backplane.replay(["x"], empty!);
      expect(fromEmpty?.events.map((e) => [e.topic, e.event.data, e.event.id])).toEqual([
        ["x", "1", first[0]!.id],
        ["x", "3", first[2]!.id],
      ]);
      expect((await backplane.replay(["x", "y"], empty!))?.events).toHaveLength(3);

      const cursor = await backplane.latest!();
      expect(cursor).toBe(first[2]!.id);
      b.publish("y", { data: "4" });
      b.publish("x", { data: "5" });
      b.publish("y", { data: "6" });
      await take(watcher, 3);
      expect((await backplane.replay(["y"], cursor!))?.events.map((e) => e.event.data)).toEqual([
        "4",
        "6",
      ]);
      // A broker resuming from it gets the same events, then live ones.
      const resumed = b.subscribe("x", { lastEventId: cursor! });
      b.publish("x", { data: "7" });
      expect((await take(resumed, 2)).map((e) => e.data)).toEqual(["5", "7"]);
    });

    it("a resume that needs more than its historySize events of a topic is a miss, never a cut", async () => {
      const prefix = harness.uniquePrefix();
      // Another process keeps a longer history under the same prefix.
      const long = broker({ historySize: 50, prefix });
      const short = broker({ historySize: 10, prefix });
      const watcher = long.subscribe(["x", "y"]);
      await ready(long, 2);
      for (let i = 0; i < 30; i++) long.publish("x", { data: String(i) });
      for (let i = 0; i < 5; i++) long.publish("y", { data: `y${i}` });
      const seen = await take(watcher, 35);
      await ready(short);
      const backplane = backplanes.get(short)!;
      expect(await backplane.replay(["x"], `${seen[0]!.id!.split("-")[0]}-0`)).toBeUndefined();
      expect(await backplane.replay(["x"], seen[18]!.id!)).toBeUndefined();
      const last10 = await backplane.replay(["x"], seen[19]!.id!);
      expect(last10?.events.map((e) => e.event.data)).toEqual(
        seen.slice(20, 30).map((e) => e.data),
      );
      // The bound is per topic: 10 of x and 5 of y (15 in all) resume.
      const both = await backplane.replay(["y", "x"], seen[19]!.id!);
      expect(both?.events.map((e) => e.event.data)).toEqual(seen.slice(20).map((e) => e.data));
      // Counted like any other miss: that client gets live events only.
      const missed = short.subscribe("x", { lastEventId: seen[18]!.id! });
      const resumed = short.subscribe("x", { lastEventId: seen[19]!.id! });
      expect((await take(resumed, 10)).map((e) => e.data)).toEqual(
        seen.slice(20, 30).map((e) => e.data),
      );
      short.publish("x", { data: "live" });
      expect((await take(missed, 1)).map((e) => e.data)).toEqual(["live"]);
      expect(short.stats()).toMatchObject({ resumed: 1, resumeMisses: 1 });
    });

    it("reads a long resume in pages: 3 topics of 250 events each, all in global order", async () => {
      const b = broker({ historySize: 300 });
      const watcher = b.subscribe(["x", "y", "z"]);
      await ready(b, 3);
      for (let i = 0; i < 750; i++) b.publish(["x", "y", "z"][i % 3]!, { data: String(i) });
      const seen = await take(watcher, 750);
      const start = `${seen[0]!.id!.split("-")[0]}-0`;
      const replay = await backplanes.get(b)!.replay(["z", "x", "y"], start);
      expect(replay?.events.map((e) => e.event.data)).toEqual(seen.map((e) => e.data));
      expect(replay?.events.map((e) => e.event.id)).toEqual(seen.map((e) => e.id));
    });
  });
}
