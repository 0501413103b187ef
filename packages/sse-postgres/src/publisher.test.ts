import type { SSEEvent } from "@burrow/sse-core";
import { describe, expect, it } from "vitest";
import type { Outgoing } from "./batch-queue.js";
import type { PostgresLinkLog } from "./link-log.js";
import { Publisher } from "./publisher.js";

/** A publisher whose batch queue is a list the test settles by hand, and what it delivered here. */
function publisherUnderTest() {
  const delivered: string[] = [];
  const log = {
    deliveredLocally() {},
    overflowed() {},
    drained() {},
  } as unknown as PostgresLinkLog;
  const publisher = new Publisher("proc", { maxPending: 1000, checkMs: 1000 }, log, {
    deliverHere: (_topic: string, event: SSEEvent) => delivered.push(event.data ?? ""),
    failed() {},
    retry() {},
    roundTrip() {},
  });
  const sent: Outgoing[] = [];
  // The batch queue, stood in for: what is pushed is "in flight" until the test settles it.
  const internals = publisher as unknown as {
    queue: unknown;
    failed(batch: readonly Outgoing[], error: Error): void;
    sent(batch: readonly Outgoing[]): void;
  };
  internals.queue = { pending: 0, push: (o: Outgoing) => sent.push(o), drain: () => [] };
  return { publisher, delivered, sent, internals };
}

describe("Publisher: own publishes delivered here once", () => {
  it("a batch that timed out and committed after a newer batch is not delivered a second time when its echo comes", () => {
    const { publisher, delivered, sent, internals } = publisherUnderTest();
    publisher.send("x", { data: "a" }, "ch", false);
    publisher.send("x", { data: "b" }, "ch", false);
    const [a, b] = sent;
    // a's batch timed out (PostgreSQL hung): whether it committed is unknown, so it is delivered here.
    internals.failed([a!], new Error("timeout"));
    expect(delivered).toEqual(["a"]);
    // b went out on a new connection and came back first...
    internals.sent([b!]);
    expect(publisher.echo(`proc:${b!.nonce}`)).toBe(false);
    // ...then the hung server went on and committed a: its echo is one already delivered here.
    expect(publisher.echo(`proc:${a!.nonce}`)).toBe(true);
  });
});
