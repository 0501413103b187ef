export type { BrokerMetricsOptions } from "./broker-metrics.js";
export { brokerMetrics, DEFAULT_PREFIX } from "./broker-metrics.js";
