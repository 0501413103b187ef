import { SSEOptionError } from "@burrow/sse-core";
import { checkKeys, optionKeys } from "@burrow/sse-core/adapter";
import { register as globalRegistry, type Registry } from "prom-client";

/** Options of {@link brokerMetrics}; any other key is refused (an SSEOptionError naming the closest). */
export interface BrokerMetricsOptions {
  /**
   * The prom-client registry the metrics join (your app's `/metrics` serves it).
   * @default prom-client's global `register`
   */
  registry?: Registry;
  /**
   * Prefix of every metric name. Give each broker of one registry its own.
   * @default "burrow_sse_"
   */
  prefix?: string;
  /**
   * Buckets of the fan-out time histogram, in seconds.
   * @default [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]
   */
  fanOutBuckets?: readonly number[];
  /**
   * Buckets of the time-to-drain histogram (`drain_duration_seconds`), in seconds.
   * @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
   */
  drainBuckets?: readonly number[];
  /**
   * Buckets of the backplane's publish round-trip histogram
   * (`backplane_round_trip_seconds`), in seconds.
   * @default [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
   */
  roundTripBuckets?: readonly number[];
}

/** The default prefix of every metric name. */
export const DEFAULT_PREFIX = "burrow_sse_";

const FANOUT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
const DRAIN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const ROUND_TRIP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Every key of {@link BrokerMetricsOptions} (a key missing here, or not an option, fails to compile). */
const KNOWN = optionKeys<BrokerMetricsOptions>()([
  "registry",
  "prefix",
  "fanOutBuckets",
  "drainBuckets",
  "roundTripBuckets",
]);

/** {@link BrokerMetricsOptions} checked, with every default filled in. */
export interface ResolvedMetricsOptions {
  readonly registry: Registry;
  readonly prefix: string;
  readonly fanOutBuckets: readonly number[];
  readonly drainBuckets: readonly number[];
  readonly roundTripBuckets: readonly number[];
}

/**
 * Checks `options` and fills in the defaults: an SSEOptionError naming the
 * option for options that are not an object (a registry given in their
 * place), a key that is not an option (with the closest one: `register`,
 * prom-client's name for its global registry, is `registry` here), a
 * `prefix` that is no metric name prefix, or buckets that are not
 * increasing seconds.
 */
export function resolveMetricsOptions(options: BrokerMetricsOptions): ResolvedMetricsOptions {
  // prom-client's Registry given in their place (`brokerMetrics(broker, register)`).
  const isRegistry =
    typeof (options as { registerMetric?: unknown })?.registerMetric === "function";
  if (typeof options !== "object" || options === null || Array.isArray(options) || isRegistry) {
    throw new SSEOptionError(
      "brokerMetrics.options",
      'must be an object of brokerMetrics options, e.g. { registry, prefix: "myapp_sse_" }',
      options,
      isRegistry ? { hint: "a registry goes in it: { registry }" } : undefined,
    );
  }
  checkKeys(options, KNOWN, "an option of brokerMetrics");
  const registry = options.registry ?? globalRegistry;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new SSEOptionError(
      "brokerMetrics.prefix",
      "must match [a-zA-Z_:][a-zA-Z0-9_:]*",
      prefix,
      {
        hint: 'a Prometheus metric name prefix, e.g. "myapp_sse_"',
      },
    );
  }
  const fanOutBuckets = bucketsOption("fanOutBuckets", options.fanOutBuckets, FANOUT_BUCKETS);
  const drainBuckets = bucketsOption("drainBuckets", options.drainBuckets, DRAIN_BUCKETS);
  const roundTripBuckets = bucketsOption(
    "roundTripBuckets",
    options.roundTripBuckets,
    ROUND_TRIP_BUCKETS,
  );
  return Object.freeze({ registry, prefix, fanOutBuckets, drainBuckets, roundTripBuckets });
}

/** Histogram buckets: a non-empty array of finite, increasing seconds (an SSEOptionError naming the option otherwise). */
function bucketsOption(
  name: string,
  value: readonly number[] | undefined,
  fallback: readonly number[],
): readonly number[] {
  if (value === undefined) return fallback;
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (b, i) => typeof b === "number" && Number.isFinite(b) && (i === 0 || b > value[i - 1]!),
    );
  if (!valid) {
    throw new SSEOptionError(
      `brokerMetrics.${name}`,
      "must be a non-empty array of finite, increasing numbers of seconds",
      value,
      { hint: "e.g. [0.01, 0.1, 1, 10]" },
    );
  }
  return value;
}
