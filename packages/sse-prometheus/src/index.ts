/**
 * `@burrow/sse-prometheus`: the operations layer of Burrow SSE.
 * `brokerMetrics(broker, options)` exposes the figures of an
 * `@burrow/sse-core` `EventBroker` as Prometheus metrics, through a
 * collector for prom-client's registry.
 *
 * @packageDocumentation
 */

export { brokerMetrics } from "./broker-metrics.js";
export type { BrokerMetricsOptions } from "./broker-metrics-options.js";
export { DEFAULT_PREFIX } from "./broker-metrics-options.js";
