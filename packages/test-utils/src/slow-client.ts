import { setTimeout as sleep, setImmediate as tick } from "node:timers/promises";
import type { RawClient } from "./clients.js";
import { waitFor } from "./waits.js";

/** What the slow-client helpers need of a broker (drop-newest policy, any bufferSize). */
export interface DroppingBroker {
  publish(topic: string, event: { data: string }): unknown;
  stats(): { dropped: number };
}

const PAYLOAD = "x".repeat(1000);

/**
 * Publishes 1 KB events on `topic` (10 per tick: below the per-tick write
 * budget, so only a blocked stream queues and drops) until the stream of a
 * client that stopped reading (a paused {@link RawClient}) is blocked and
 * stays so; returns `performance.now()` when it was seen blocked. The kernel
 * absorbs megabytes first (and may take more a moment later, which unblocks
 * the stream): the cap only turns a client that never backs up into a clear
 * failure. The broker's only client of `topic` must be that one.
 */
export async function blockStream(broker: DroppingBroker, topic: string): Promise<number> {
  let published = 0;
  for (;;) {
    const before = broker.stats().dropped;
    while (broker.stats().dropped === before) {
      if (published > 200_000) throw new Error("the client never backed up");
      for (let i = 0; i < 10; i++, published++) broker.publish(topic, { data: PAYLOAD });
      await tick();
    }
    const blocked = performance.now();
    await sleep(100);
    // Still blocked: its ring buffer is still full, so one more event is dropped.
    const held = broker.stats().dropped;
    broker.publish(topic, { data: PAYLOAD });
    if (broker.stats().dropped > held) return blocked;
  }
}

/**
 * Lets `client` read again, until an event `data` arrives. Published again at
 * each poll: while the stream is still blocked the full ring buffer drops it;
 * once one arrives, everything queued before it was written.
 */
export async function readUntil(
  broker: DroppingBroker,
  topic: string,
  client: RawClient,
  data: string,
): Promise<void> {
  client.socket.resume();
  await waitFor(
    () => {
      if (client.events.some((e) => e.data === data)) return true;
      broker.publish(topic, { data });
      return false;
    },
    `event ${data}`,
    30_000,
  );
}
