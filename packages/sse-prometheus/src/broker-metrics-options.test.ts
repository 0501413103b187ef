import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { cleanupAfterEach, thrownBy } from "@burrow/test-utils";
import { Registry, register } from "prom-client";
import { describe, expect, it } from "vitest";
import { brokerMetrics } from "./index.js";

// Issue 27, item 3: `{ register: new Registry() }` (prom-client's own export
// name) and `{ prefx: … }` were ignored, and the metrics went to the global
// registry under the default prefix, silently.

const cleanups = cleanupAfterEach();

function broker(): EventBroker {
  const b = new EventBroker();
  cleanups.push(() => b.close());
  return b;
}

/** What `brokerMetrics(broker(), options)` throws: its option and message. */
function refusal(options: unknown): { option: string; message: string } {
  const err = thrownBy(() => brokerMetrics(broker(), options as never));
  expect(SSEOptionError.isInstance(err)).toBe(true);
  const { option, message } = err as SSEOptionError;
  return { option, message };
}

describe("brokerMetrics refuses what is not an option, registering nothing", () => {
  it("`register` (prom-client's name for its registry) suggests `registry`", () => {
    const registry = new Registry();
    expect(refusal({ register: registry })).toEqual({
      option: "register",
      message:
        "sse: register: is not an option of brokerMetrics, got an object — did you mean `registry`?",
    });
    expect(registry.getMetricsAsArray()).toEqual([]);
    expect(register.getSingleMetric("burrow_sse_clients")).toBeUndefined();
  });

  it("a misspelt key names the closest option; one close to none lists them", () => {
    expect(refusal({ registry: new Registry(), prefx: "myapp_sse_" }).message).toBe(
      'sse: prefx: is not an option of brokerMetrics, got "myapp_sse_" (a string) — did you mean `prefix`?',
    );
    expect(refusal({ buckets: [1, 2] }).message).toBe(
      "sse: buckets: is not an option of brokerMetrics, got an array — known: registry, prefix, fanOutBuckets, drainBuckets, roundTripBuckets",
    );
  });

  it("a registry given as the options, or options that are not an object, are refused", () => {
    expect(refusal(new Registry())).toEqual({
      option: "brokerMetrics.options",
      message:
        'sse: brokerMetrics.options: must be an object of brokerMetrics options, e.g. { registry, prefix: "myapp_sse_" }, got an object — a registry goes in it: { registry }',
    });
    expect(refusal(null).message).toBe(
      'sse: brokerMetrics.options: must be an object of brokerMetrics options, e.g. { registry, prefix: "myapp_sse_" }, got null',
    );
    expect(refusal("myapp_sse_").option).toBe("brokerMetrics.options");
    expect(register.getSingleMetric("burrow_sse_clients")).toBeUndefined();
  });

  it("every option it has is accepted", () => {
    const registry = new Registry();
    const remove = brokerMetrics(broker(), {
      registry,
      prefix: "app_sse_",
      fanOutBuckets: [0.001, 0.01],
      drainBuckets: [0.1, 1],
      roundTripBuckets: [0.01, 0.1],
    });
    cleanups.push(remove);
    expect(registry.getSingleMetric("app_sse_clients")).toBeDefined();
    // Left out: prom-client's global registry.
    cleanups.push(brokerMetrics(broker(), undefined));
    expect(register.getSingleMetric("burrow_sse_clients")).toBeDefined();
  });
});
