// End to end on the real Redis backplane: the round-trip histogram counts
// exactly this process's publishes that came back through Redis, and the
// state gauge follows the link.
import { EventBroker } from "@burrow/sse-core";
import { redisBackplane } from "@burrow/sse-redis";
import { cleanupAfterEach, waitFor } from "@burrow/test-utils";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "@burrow/test-utils/redis";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { Registry } from "prom-client";
import { expect, it } from "vitest";
import { brokerMetrics } from "./index.js";

const cleanups = cleanupAfterEach();

/** The value of each sample of `name` (by its labels, `k=v,...`; "" for none) after parsing `text` independently. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of parsePrometheusTextFormat(text)) {
    if (family.name !== name) continue;
    for (const metric of family.metrics as Array<{
      value?: string;
      count?: string;
      labels?: Record<string, string>;
    }>) {
      const key = Object.entries(metric.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      out.set(key, Number(metric.value ?? metric.count));
    }
  }
  return out;
}

describeRedis("brokerMetrics on the Redis backplane", () => {
  it("observes one round trip per own publish, none for another process's, and shows the link ready", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const broker = new EventBroker({
      historySize: 10,
      backplane: redisBackplane({ url: REDIS_URL, prefix }),
    });
    const other = new EventBroker({
      historySize: 10,
      backplane: redisBackplane({ url: REDIS_URL, prefix }),
    });
    cleanups.push(
      () => broker.close(),
      () => other.close(),
    );
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    const scrape = () => registry.metrics();

    await waitFor(
      async () =>
        samples(await scrape(), "burrow_sse_backplane_state").get("state=ready") === 1 &&
        other.stats().backplane?.state === "ready",
      "both links ready",
    );
    const client = broker.subscribe("news");
    await waitFor(() => broker.stats().backplane?.topics === 1, "the topic watched");
    for (let i = 0; i < 3; i++) broker.publish("news", { data: `own ${i}` });
    other.publish("news", { data: "theirs" });
    const got: string[] = [];
    for await (const event of client) {
      got.push(event.data ?? "");
      if (got.length === 4) break;
    }
    expect(got.sort()).toEqual(["own 0", "own 1", "own 2", "theirs"]);
    await waitFor(
      async () => samples(await scrape(), "burrow_sse_backplane_round_trip_seconds").get("") === 3,
      "three round trips",
    );
    const text = await scrape();
    expect(samples(text, "burrow_sse_backplane_round_trip_seconds").get("")).toBe(3);
    expect(samples(text, "burrow_sse_backplane_reconnects_total").get("")).toBe(0);
    expect(samples(text, "burrow_sse_events_published_total").get("")).toBe(3);
  });
});
