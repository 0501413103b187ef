/**
 * Resume storms against a real backplane (Redis, PostgreSQL): many clients
 * resuming at once from ids only the backplane knows share its history
 * reads, each gets exactly its events once and in order; a client leaving
 * during a shared read, or the link dropping during one, is settled at once.
 */
import { afterEach, expect, it } from "vitest";
import type { SuiteBackplane, SuiteBackplaneBroker, SuiteEvent } from "./backplane-harness.js";
import type { LastValueHarness } from "./backplane-last-suite.js";
import { type TcpProxy, tcpProxy } from "./tcp-proxy.js";
import { take, waitFor } from "./waits.js";

/** What the suite uses of a backplane built on the kit's shared reads. */
interface SharingBackplane {
  replay(
    topics: readonly string[],
    lastEventId: string,
    signal?: AbortSignal,
  ): Promise<{ events: { topic: string; event: SuiteEvent }[] } | undefined>;
  stats(): { state: string; topics: number; replays: number; replayReads: number };
}

/** Runs the cases against `harness`, each on a prefix of its own (dropped after the test). */
export function describeSharedReplays<C extends AsyncIterable<SuiteEvent>>(
  harness: LastValueHarness<C>,
): void {
  const made: { broker: SuiteBackplaneBroker<C>; prefix: string }[] = [];
  const proxies: TcpProxy[] = [];

  /** A broker on `backplane` (a new one on `prefix` by default), and that backplane. */
  function open(prefix: string, historySize: number, backplane?: SuiteBackplane) {
    const plane = backplane ?? harness.backplane(prefix);
    const broker = harness.broker(plane, historySize);
    made.push({ broker, prefix });
    return { broker, backplane: plane as unknown as SharingBackplane };
  }

  const ready = (backplane: SharingBackplane, topics: number) =>
    waitFor(
      () => backplane.stats().state === "ready" && backplane.stats().topics >= topics,
      "the backplane to be ready",
    );

  /**
   * A backplane through a proxy whose answers the test can hold, with a
   * watcher of `t` and three events published: their ids.
   */
  async function heldBackplane() {
    const held: (() => void)[] = [];
    let holding = false;
    const proxy = await tcpProxy(harness.url, (client) => (chunk) => {
      if (holding) held.push(() => client.write(chunk));
      else client.write(chunk);
    });
    proxies.push(proxy);
    const prefix = harness.uniquePrefix();
    const { broker, backplane } = open(prefix, 10, harness.through(proxy.url, prefix, 10_000));
    const watcher = broker.subscribe("t");
    await ready(backplane, 1);
    for (const data of ["1", "2", "3"]) broker.publish("t", { data });
    const ids = (await take(watcher, 3)).map((event) => event.id!);
    const hold = () => {
      holding = true;
    };
    const release = () => {
      holding = false;
      for (const write of held.splice(0)) write();
    };
    return { proxy, backplane, ids, hold, release };
  }

  /** Whether `promise` settled, polled by waitFor; and its value then. */
  function settled<T>(promise: Promise<T>) {
    const state: { done: boolean; value?: T } = { done: false };
    void promise.then((value) => {
      state.done = true;
      state.value = value;
    });
    return state;
  }

  harness.describe(`${harness.name}: resume storms share history reads`, () => {
    afterEach(async () => {
      for (const proxy of proxies.splice(0)) proxy.close();
      for (const { broker } of made) broker.close();
      for (const prefix of new Set(made.splice(0).map(({ prefix }) => prefix))) {
        await harness.drop(prefix);
      }
    });

    it("200 clients resuming at once from ids only the backplane knows: each gets its events once, in order, from far fewer reads", async () => {
      const prefix = harness.uniquePrefix();
      const publisher = open(prefix, 100);
      const watcher = publisher.broker.subscribe(["t", "u"]);
      await ready(publisher.backplane, 2);
      const published: string[] = [];
      const publish = (data: string) => {
        published.push(data);
        publisher.broker.publish(data.startsWith("t") ? "t" : "u", { data });
      };
      for (let i = 0; i < 40; i++) publish(`${i % 2 ? "u" : "t"}${i}`);
      const ids = (await take(watcher, 40)).map((event) => event.id!);
      // A fresh process: its own history is empty, only the backplane knows these ids.
      const fresh = open(prefix, 100);
      fresh.broker.subscribe(["t", "u"]);
      await ready(fresh.backplane, 2);
      const clients = Array.from({ length: 200 }, (_, i) =>
        fresh.broker.subscribe(i % 2 ? ["t", "u"] : "t", { lastEventId: ids[i % 20]! }),
      );
      // Published while the replays are read: the overlap with live is removed by seq.
      for (let i = 40; i < 50; i++) publish(`${i % 2 ? "u" : "t"}${i}`);
      publish("tend");
      const received = await Promise.all(
        clients.map(async (client, i) => {
          const wanted = published
            .slice((i % 20) + 1)
            .filter((data) => i % 2 === 1 || data.startsWith("t"));
          const events = await take(client, wanted.length);
          return { got: events.map((event) => event.data), wanted };
        }),
      );
      for (const { got, wanted } of received) expect(got).toEqual(wanted);
      expect(received.every(({ got }) => got.at(-1) === "tend")).toBe(true);
      const { replayReads } = fresh.backplane.stats();
      expect(replayReads).toBeGreaterThan(0);
      expect(replayReads).toBeLessThan(40);
      expect(fresh.backplane.stats().replays).toBe(0);
      expect(fresh.broker.stats().resumeMisses).toBe(0);
    });

    it("a client leaving while its shared read is in flight gets nothing at once; the others get theirs from that read", async () => {
      const { backplane, ids, hold, release } = await heldBackplane();
      hold();
      const left = new AbortController();
      const first = backplane.replay(["t"], ids[0]!);
      const leaving = settled(backplane.replay(["t"], ids[0]!, left.signal));
      const second = backplane.replay(["t"], ids[1]!);
      await waitFor(() => backplane.stats().replayReads === 1, "the shared read to start");
      left.abort();
      await waitFor(() => leaving.done, "the leaving replay to settle while its read is held");
      expect(leaving.value).toBeUndefined();
      release();
      const data = async (replay: typeof first) =>
        (await replay)?.events.map(({ event }) => event.data);
      expect(await data(first)).toEqual(["2", "3"]);
      expect(await data(second)).toEqual(["3"]);
      expect(backplane.stats()).toMatchObject({ replayReads: 1, replays: 0 });
    });

    it("the link dropping during a shared read turns every replay waiting for it into a miss", async () => {
      const { proxy, backplane, ids, hold } = await heldBackplane();
      hold();
      const replays = [ids[0]!, ids[0]!, ids[1]!].map((id) => settled(backplane.replay(["t"], id)));
      await waitFor(() => backplane.stats().replayReads === 1, "the shared read to start");
      proxy.cut();
      await waitFor(() => replays.every((replay) => replay.done), "the replays to settle");
      expect(replays.map((replay) => replay.value)).toEqual([undefined, undefined, undefined]);
      expect(backplane.stats().replays).toBe(0);
      proxy.restore();
    });
  });
}
