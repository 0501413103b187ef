/**
 * Bursts through a backplane (issue #26, item 5), against each real engine
 * (Redis, PostgreSQL), two brokers in this process: a burst that a healthy
 * engine is merely slower than reaches the other process in full, and events
 * past `maxPending` on an engine that does not answer (delivered on the
 * publishing process only) are signalled to every other process once it
 * answers again, whose clients of a topic with a snapshot are repaired.
 */
import { expect, it } from "vitest";
import type { BackplaneHarness, SuiteEvent } from "./backplane-harness.js";
import { backplaneReady } from "./backplane-ready.js";
import { take, waitFor } from "./waits.js";

/** What the burst suite reads of a backplane's stats (the kit's `BackplaneEngineStats`). */
export interface BurstStats {
  state: string;
  topics: number;
  pending: number;
  overflow: number;
  published: number;
  gaps: number;
}

/** What the burst suite uses of core's `EventBroker`. */
export interface BurstBroker {
  subscribe(topics: string): AsyncIterable<SuiteEvent>;
  publish(topic: string, event: { data: string }): number;
  stats(): { backplane: unknown; snapshots: { miss: number } };
  close(): void;
}

/** How the burst suite runs against one engine. */
export interface BurstHarness
  extends Pick<BackplaneHarness<AsyncIterable<SuiteEvent>>, "describe" | "name" | "uniquePrefix"> {
  /**
   * A broker (`bufferSize` 20 000, `historySize` 100, topic `feed` a log
   * with a snapshot rendering `<p>feed as now</p>` into `#feed`) on a
   * backplane on `prefix` with `options`, on the shared engine, or on the
   * one {@link hold} can hold when `holdable`; closed and dropped by the harness.
   */
  open(
    prefix: string,
    options?: { maxPending?: number; timeoutMs?: number; holdable?: boolean },
  ): BurstBroker;
  /**
   * Makes the holdable engine answer nothing to `prefix`'s publishes (a
   * held lock, a stopped server); resolves once held, with its release.
   * Undefined when it cannot be held here (the case is skipped).
   */
  hold: ((prefix: string) => Promise<() => Promise<void>>) | undefined;
  /** Closes the brokers opened and removes what they stored. */
  cleanUp(): Promise<void>;
}

const statsOf = (b: BurstBroker) => b.stats().backplane as BurstStats;

/** Runs the cases against `harness`. */
export function describeBursts(harness: BurstHarness, burst = 12_000): void {
  harness.describe(`${harness.name}: bursts reach every process`, () => {
    it(`a synchronous burst of ${burst} events on one process (past the default maxPending) reaches a client of another in full, in order; nothing overflows`, async () => {
      const prefix = harness.uniquePrefix();
      try {
        const a = harness.open(prefix);
        const b = harness.open(prefix);
        const client = b.subscribe("x");
        await Promise.all([backplaneReady(b, 1), backplaneReady(a)]);
        for (let i = 0; i < burst; i++) a.publish("x", { data: String(i) });
        // The engine answers: the burst waits its turn instead of staying on this process.
        expect(statsOf(a).overflow).toBe(0);
        const got = await take(client, burst);
        expect(got.map((e) => e.data)).toEqual(Array.from({ length: burst }, (_, i) => String(i)));
        expect(got.every((e) => e.id !== undefined)).toBe(true);
        await waitFor(() => statsOf(a).pending === 0, "every publish answered");
        expect(statsOf(a)).toMatchObject({ overflow: 0, published: burst });
        expect(statsOf(b).gaps).toBe(0);
      } finally {
        await harness.cleanUp();
      }
    }, 60_000);

    it.skipIf(harness.hold === undefined)(
      "past maxPending on an engine that does not answer: delivered on the publisher only and counted; once it answers, the other process counts a gap and repairs its client with the snapshot",
      async () => {
        const prefix = harness.uniquePrefix();
        try {
          const a = harness.open(prefix, { maxPending: 20, timeoutMs: 10_000, holdable: true });
          const b = harness.open(prefix, { timeoutMs: 10_000, holdable: true });
          const onA = a.subscribe("feed");
          const onB = b.subscribe("feed");
          await Promise.all([backplaneReady(a, 1), backplaneReady(b, 1)]);
          a.publish("feed", { data: "before" });
          expect((await take(onB, 1)).map((e) => e.data)).toEqual(["before"]);
          await take(onA, 1);

          const release = await harness.hold!(prefix);
          let held = 0;
          try {
            // Waiting events past maxPending wait while the engine answers; once it is seen
            // silent, the next one overflows.
            await waitFor(() => {
              a.publish("feed", { data: `held ${held++}` });
              return statsOf(a).overflow > 0;
            }, "an overflow on the held engine");
            // Nothing tells b while the engine is held (read before the release: once it answers,
            // the gap marker may reach b at any moment).
            expect(statsOf(b).gaps).toBe(0);
          } finally {
            await release();
          }
          const overflowed = statsOf(a).overflow;
          expect(overflowed).toBeGreaterThan(0);
          // The publisher's own client has every event: the overflowed ones at once, without an id.
          const here = await take(onA, held);
          expect(here.map((e) => e.data).sort()).toEqual(
            Array.from({ length: held }, (_, i) => `held ${i}`).sort(),
          );
          expect(here.filter((e) => e.id === undefined)).toHaveLength(overflowed);

          // Once the engine answers, a gap marker reaches b: it counts a gap and repairs its client.
          await waitFor(() => statsOf(b).gaps === 1, "b told of the gap");
          const seen: SuiteEvent[] = [];
          for await (const event of onB) {
            seen.push(event);
            if (event.data?.includes("feed as now")) break;
          }
          expect(seen.at(-1)?.data).toContain("<p>feed as now</p>");
          expect(b.stats().snapshots.miss).toBe(1);
          expect(statsOf(a).gaps).toBe(0);
        } finally {
          await harness.cleanUp();
        }
      },
      60_000,
    );
  });
}
