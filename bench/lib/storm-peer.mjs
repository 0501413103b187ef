// Another process on the storm's backplane, driven by storm.mjs over IPC:
// first the seeder (it publishes every topic's events before the server under
// test starts, so that their ids are known only to the backplane), then, as a
// fresh process, the probe (it publishes on a topic of its own and measures
// the round trip through the backplane back to its own subscriber, before and
// during the storm).
//
// Usage (by storm.mjs only): node lib/storm-peer.mjs <engine> <prefix> <historySize> [<checkout>]

import { loadBurrow } from "./load.mjs";
import { now, serveParent } from "./proc.mjs";
import { createBackplane } from "./storm-backplane.mjs";
import { seedTopics } from "./storm-seed.mjs";

const [engine, prefix, history, checkout] = process.argv.slice(2);
const LIFETIME_MS = Number(process.env.BENCH_CHILD_LIFETIME_MS ?? 20 * 60_000);
const PROBE_TOPIC = "storm-probe";

const { EventBroker } = await loadBurrow("@burrow/sse-core", checkout);
// maxPending above what the seeder has out at once: seeding measures nothing.
const backplane = await createBackplane(engine, prefix, checkout, {
  logger: false,
  maxPending: 1_000_000,
});
const broker = new EventBroker({ historySize: Number(history), bufferSize: 100_000, backplane });

let probe;

/** Paced publishes on PROBE_TOPIC, each stamped; `samples`: [sent, round trip] in ms. */
function startProbe(intervalMs) {
  const client = broker.subscribe(PROBE_TOPIC);
  const state = { client, samples: [], published: 0, stopped: false };
  (async () => {
    for await (const event of client) {
      const sent = Number(event.data);
      state.samples.push([sent, now() - sent]);
    }
  })();
  state.ready = (async () => {
    while (broker.stats().backplane?.topics < 1 || broker.stats().backplane?.state !== "ready")
      await new Promise((resolve) => setTimeout(resolve, 5));
  })();
  state.loop = (async () => {
    await state.ready;
    while (!state.stopped) {
      broker.publish(PROBE_TOPIC, { data: now().toFixed(3) });
      state.published++;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return state;
}

serveParent(
  {
    /** Publishes the storm's events (see seedTopics); returns their ids. */
    seed: async ({ topics, perTopic, size }) => ({
      ids: await seedTopics(broker, { topics, perTopic, size, batch: 500 }),
    }),
    "probe-start": async ({ intervalMs }) => {
      probe = startProbe(intervalMs);
      await probe.ready;
      return {};
    },
    /** Stops publishing, waits `settleMs` for the last round trips, returns every sample. */
    "probe-stop": async ({ settleMs = 1000 }) => {
      probe.stopped = true;
      await probe.loop;
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      broker.unsubscribe(probe.client);
      return { samples: probe.samples, published: probe.published };
    },
  },
  LIFETIME_MS,
);
