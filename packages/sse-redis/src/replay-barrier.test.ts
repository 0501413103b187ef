// A client leaving while its resume waits for the barrier (the PING on the
// subscriber connection that orders the live copies of what was read before
// the replay), on the real Redis at REDIS_URL, through a proxy that can hold
// the subscriber connection's answers (the reads, on the command connection,
// go through). As on PostgreSQL (sse-postgres' replay-barrier.test.ts), it
// should be settled at once, and the resumes sharing its read get exactly
// their events.
import type { Socket } from "node:net";
import { EventBroker } from "@burrow/sse-core";
import { holdingProxy, take, waitFor } from "@burrow/test-utils";
import { afterEach, expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { type RedisBackplaneStats, redisBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const cleanups: (() => unknown)[] = [];

/**
 * A proxy to Redis that can hold what it answers on the subscriber
 * connection (the one whose answers confirm a subscription).
 */
async function subscriberHold() {
  const subscribers = new Set<Socket>();
  const proxy = await holdingProxy(REDIS_URL, (client, chunk) => {
    if (chunk.includes("subscribe")) subscribers.add(client);
    return subscribers.has(client);
  });
  cleanups.push(() => proxy.close());
  return proxy;
}

describeRedis("sse-redis: a client leaving while its resume waits for the barrier", () => {
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  // Was a bug: the resume awaited the shared barrier without the client's signal, so one whose
  // client left kept counting in `replays` (and held what was read for it) until Redis answered
  // the PING (up to `timeoutMs` on a hung server). The kit's BackplaneResumes now passes it.
  it("is settled at once; the resumes sharing its read get exactly their events", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const proxy = await subscriberHold();
    const backplane = redisBackplane({
      url: proxy.url,
      prefix,
      logger: silent,
      timeoutMs: 10_000,
    });
    const broker = new EventBroker({ historySize: 100, backplane });
    cleanups.push(() => broker.close());
    const stats = () => broker.stats().backplane as RedisBackplaneStats;
    const watcher = broker.subscribe("t");
    await waitFor(() => stats().state === "ready" && stats().topics === 1, "t subscribed");
    for (const data of ["t1", "t2", "t3"]) broker.publish("t", { data });
    const ids = (await take(watcher, 3)).map((event) => event.id!);

    proxy.hold();
    // In one tick: one shared read (on the command connection, answered), then one barrier, held.
    const stays = broker.subscribe("t", { lastEventId: ids[0]! });
    const leaves = broker.subscribe("t", { lastEventId: ids[0]! });
    const later = broker.subscribe("t", { lastEventId: ids[1]! });
    await waitFor(() => proxy.holds("pong"), "the barrier to be sent");
    expect(stats()).toMatchObject({ replays: 3, replayReads: 1 });

    broker.unsubscribe(leaves);
    expect(broker.stats().clients).toBe(3);
    // Settled at once when fixed; the bound only keeps the expected failure short.
    await waitFor(() => stats().replays === 2, "the leaving resume to be settled at once", 2000);
    proxy.release();
    expect((await take(stays, 2)).map((event) => event.data)).toEqual(["t2", "t3"]);
    expect((await take(later, 1)).map((event) => event.data)).toEqual(["t3"]);
    expect(broker.stats()).toMatchObject({ resumed: 2, resumeMisses: 0 });
    expect(stats().replays).toBe(0);
  });
});
