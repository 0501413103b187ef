/**
 * A resume through a framework adapter while the backplane's replay is held
 * open, run by {@link describeAdapter} against each: the framework's stream
 * sends its head and first bytes at once, then the replay, then live events.
 */
import { expect, it } from "vitest";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import { rawClient } from "./clients.js";
import { type HeldReplays, heldReplays } from "./held-replays.js";
import { cleanupAfterEach } from "./server.js";
import { waitFor } from "./waits.js";

type BrokerClass = new (options: {
  historySize: number;
  backplane: HeldReplays["backplane"];
}) => SuiteBroker;

/** Runs the awaited-replay case against `harness`. */
export function describeAwaitedReplay<B extends SuiteBroker, Req, H>(
  name: string,
  harness: AdapterHarness<B, Req, H>,
): void {
  const cleanups = cleanupAfterEach();

  it(`${name}: a resume gets its head and first bytes while the backplane's replay is pending, then the replay, then live events`, async () => {
    const held = heldReplays();
    const Broker = harness.newBroker().constructor as unknown as BrokerClass;
    const broker = new Broker({ historySize: 10, backplane: held.backplane });
    cleanups.push(() => broker.close());
    for (const n of [1, 2]) broker.publish("news", { data: `n${n}` });
    const { server, errors } = await harness.serve({
      get: { "/events": harness.api.handler(broker as unknown as B, "news") },
    });
    cleanups.push(
      () => expect(errors).toEqual([]),
      () => server.close(),
    );
    const client = rawClient(server.port, "/events", { headers: { "Last-Event-ID": "held-1" } });
    cleanups.push(() => client.close());
    await waitFor(() => client.comments.includes("resuming"), "the head and the opening comment");
    expect(client.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(client.head.toLowerCase()).toContain("content-type: text/event-stream");
    expect(held.replays).toHaveLength(1);
    broker.publish("news", { data: "n3" });
    await waitFor(() => held.watched.has("news") && held.log.length === 3, "n3 ordered");
    held.replays[0]!.answer();
    await waitFor(() => client.events.length === 2, "the replay and n3");
    broker.publish("news", { data: "n4" });
    await waitFor(() => client.events.length === 3, "n4");
    expect(client.events.map((e) => `${e.data} ${e.id}`)).toEqual([
      "n2 held-2",
      "n3 held-3",
      "n4 held-4",
    ]);
  });
}
