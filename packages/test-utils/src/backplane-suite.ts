/**
 * The guarantees every backplane (Redis, PostgreSQL) gives in one process,
 * on the real engine: topics received only while watched, history per
 * topic, global ids, prefixes kept apart, one broker per backplane,
 * `latest()` cursors, and resumes read in pages or refused past
 * `historySize`. What only one engine does stays in its package. Also the
 * entry of the backplane suites' names, `@burrow/test-utils/backplane-suite`.
 */
import { afterAll, afterEach, expect, it } from "vitest";
import type {
  BackplaneHarness,
  SuiteBackplane,
  SuiteBackplaneBroker,
  SuiteEvent,
} from "./backplane-harness.js";
import { backplaneReady } from "./backplane-ready.js";
import { take, waitFor } from "./waits.js";

export type {
  BackplaneHarness,
  SuiteBackplane,
  SuiteBackplaneBroker,
  SuiteEvent,
} from "./backplane-harness.js";
export {
  type BackplaneProcessesHarness,
  describeBackplaneProcesses,
} from "./backplane-processes-suite.js";
export { backplaneReady } from "./backplane-ready.js";

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
