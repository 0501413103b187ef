export { brokerMetrics } from "./broker-metrics.js";
export type { BrokerMetricsOptions } from "./broker-metrics-options.js";
export { DEFAULT_PREFIX } from "./broker-metrics-options.js";
