/**
 * A state topic's current value on every process of a backplane (issue #25),
 * against each real engine (Redis, PostgreSQL): the backplane's `last(topic)`
 * (the newest event the engine retains), and a broker that did not watch a
 * state topic giving its new client the value published on another process.
 */
import { afterEach, expect, it } from "vitest";
import type {
  BackplaneHarness,
  SuiteBackplane,
  SuiteBackplaneBroker,
  SuiteEvent,
} from "./backplane-harness.js";
import { backplaneReady } from "./backplane-ready.js";
import { type TcpProxy, tcpProxy } from "./tcp-proxy.js";
import { take, waitFor } from "./waits.js";

/** The in-process suite's harness, and how to reach the engine another way. */
export interface LastValueHarness<C extends AsyncIterable<SuiteEvent>> extends BackplaneHarness<C> {
  /** The engine's URL. */
  url: string;
  /** A backplane on `prefix` that reaches the engine at `url`, with `timeoutMs`, logging nothing. */
  through(url: string, prefix: string, timeoutMs: number): SuiteBackplane;
}

/** Runs the cases against `harness`, each on a prefix of its own (dropped after the test). */
export function describeLastValue<C extends AsyncIterable<SuiteEvent>>(
  harness: LastValueHarness<C>,
): void {
  const made: { broker: SuiteBackplaneBroker<C>; prefix: string }[] = [];
  const status = { status: { kind: "state" as const } };

  /** A broker on a new backplane on `prefix` (or `backplane`), and that backplane. */
  function open(prefix: string, historySize = 10, backplane = harness.backplane(prefix)) {
    const broker = harness.broker(backplane, historySize, status);
    made.push({ broker, prefix });
    return { broker, backplane, last: (topic: string) => lastOf(backplane, topic) };
  }

  /** A broker on a backplane reaching the engine through `proxy` with `timeoutMs`, and its client of `x`. */
  function openThrough(proxy: TcpProxy, timeoutMs: number) {
    const prefix = harness.uniquePrefix();
    const opened = open(prefix, 10, harness.through(proxy.url, prefix, timeoutMs));
    return { ...opened, watcher: opened.broker.subscribe("x") };
  }

  /** Once `opened` is ready, publishes `x`'s value "1" and waits for it to come back. */
  async function publishOne(opened: ReturnType<typeof openThrough>): Promise<void> {
    await backplaneReady(opened.backplane, 1);
    opened.broker.publish("x", { data: "1" });
    await take(opened.watcher, 1);
  }

  harness.describe(`${harness.name}: a state topic's current value on every process`, () => {
    afterEach(async () => {
      const prefixes = new Set(made.map((m) => m.prefix));
      for (const { broker } of made.splice(0)) broker.close();
      for (const prefix of prefixes) await harness.drop(prefix);
    });

    it("last(topic): the newest event the topic retains, with its id and seq; none for a topic never published", async () => {
      const { broker, backplane, last } = open(harness.uniquePrefix());
      const watcher = broker.subscribe(["x", "y"]);
      await backplaneReady(backplane, 2);
      expect(await last("x")).toBeUndefined();
      broker.publish("x", { data: "1" });
      broker.publish("x", { data: "2" });
      broker.publish("y", { data: "3" });
      const seen = await take(watcher, 3);
      const seqOf = (id: string | undefined) => Number(id?.split("-")[1]);
      expect(await last("x")).toEqual({
        topic: "x",
        seq: seqOf(seen[1]!.id),
        event: expect.objectContaining({ data: "2", id: seen[1]!.id }),
      });
      // An id of the app's own is kept.
      broker.publish("x", { data: "4", id: "mine" });
      await take(watcher, 1);
      expect((await last("x"))?.event).toMatchObject({ data: "4", id: "mine" });
      expect(await last("never")).toBeUndefined();
      broker.close();
      expect(await last("x")).toBeUndefined();
    });

    it("last(topic) without history: none (the engine stores nothing)", async () => {
      const { broker, backplane, last } = open(harness.uniquePrefix(), 0);
      const watcher = broker.subscribe("x");
      await backplaneReady(backplane, 1);
      broker.publish("x", { data: "1" });
      await take(watcher, 1);
      expect(await last("x")).toBeUndefined();
    });

    it("last(topic) settles as nothing within timeoutMs while the engine does not answer", async () => {
      let holding = false;
      const proxy = await tcpProxy(harness.url, (client) => (chunk) => {
        if (!holding) client.write(chunk);
      });
      try {
        const opened = openThrough(proxy, 300);
        const { backplane, last } = opened;
        await publishOne(opened);
        // Its answers held from now on: the read is asked while the link is still ready.
        holding = true;
        expect(backplane.stats().state).toBe("ready");
        expect(await last("x")).toBeUndefined();
      } finally {
        proxy.close();
      }
    });

    it("last(topic) while the link is not ready (not yet connected, then down): nothing, without waiting for timeoutMs", async () => {
      const proxy = await tcpProxy(harness.url);
      try {
        proxy.cut();
        // A bound far past the test's own timeout: a last() that waits for it fails the test.
        const opened = openThrough(proxy, 600_000);
        const { backplane, last } = opened;
        expect(backplane.stats().state).toBe("connecting");
        expect(await last("x")).toBeUndefined();
        proxy.restore();
        await publishOne(opened);
        // Ready, the same call reads the value.
        expect((await last("x"))?.event.data).toBe("1");
        proxy.cut();
        await waitFor(() => backplane.stats().state === "down", "the cut to be noticed");
        expect(await last("x")).toBeUndefined();
      } finally {
        proxy.close();
      }
    });

    it("a new client on a process that never watched the state topic gets the value published on another, then live", async () => {
      const prefix = harness.uniquePrefix();
      const a = open(prefix);
      const b = open(prefix);
      await Promise.all([backplaneReady(a.backplane), backplaneReady(b.backplane)]);
      a.broker.publish("status", { data: "one" });
      a.broker.publish("status", { data: "two" });
      // Stored in the engine before b's client comes (nothing on b has watched the topic).
      await waitFor(
        async () => (await a.last("status"))?.event.data === "two",
        "the status stored",
      );
      const page = b.broker.subscribe("status", { snapshot: true });
      expect((await take(page, 1)).map((e) => e.data)).toEqual(["two"]);
      await backplaneReady(b.backplane, 1);
      a.broker.publish("status", { data: "three" });
      expect((await take(page, 1)).map((e) => e.data)).toEqual(["three"]);
    });
  });
}

/** `backplane.last(topic)`, which the backplane under test must have. */
function lastOf(backplane: SuiteBackplane, topic: string) {
  if (backplane.last === undefined) throw new Error("the backplane has no last()");
  return backplane.last(topic);
}
