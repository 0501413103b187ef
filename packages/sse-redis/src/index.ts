/**
 * `@burrow/sse-redis`: the scale-out layer of Burrow SSE on Redis.
 * `redisBackplane(options)` is a backplane for `@burrow/sse-core`'s
 * `EventBroker`, so that brokers in many server processes share one topic
 * space, one event order and one resume history.
 *
 * @packageDocumentation
 */

export type { RedisClusterBackplaneStats } from "./cluster-backplane.js";
export { RedisClusterBackplane } from "./cluster-backplane.js";
export type { RedisClusterOption } from "./cluster-options.js";
export type { BackplaneLogger, RedisBackplaneOptions } from "./options.js";
export {
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_REPLAYS,
  DEFAULT_PREFIX,
  DEFAULT_REDIS_URL,
  DEFAULT_TIMEOUT_MS,
} from "./options.js";
export type { ReadyOptions } from "./readiness.js";
export { DEFAULT_READY_TIMEOUT_MS } from "./readiness.js";
export { RedisBackplane } from "./redis-backplane.js";
export { redisBackplane } from "./redis-backplane-factory.js";
export type { RedisBackplaneStats } from "./redis-backplane-stats.js";
