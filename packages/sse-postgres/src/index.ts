/**
 * `@burrow/sse-postgres`: the scale-out layer of Burrow SSE on PostgreSQL.
 * `postgresBackplane(options)` is a backplane for `@burrow/sse-core`'s
 * `EventBroker`, so that brokers in many server processes share one topic
 * space, one event order and one resume history.
 *
 * @packageDocumentation
 */

export type { BackplaneLogger, PostgresBackplaneOptions } from "./options.js";
export {
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_REPLAYS,
  DEFAULT_PREFIX,
  DEFAULT_PRESENCE_TTL_MS,
  DEFAULT_RETENTION_MS,
  DEFAULT_TIMEOUT_MS,
} from "./options.js";
export { PostgresBackplane, postgresBackplane } from "./postgres-backplane.js";
export type { PostgresBackplaneStats } from "./postgres-backplane-stats.js";
export type { ReadyOptions } from "./readiness.js";
export { DEFAULT_READY_TIMEOUT_MS } from "./readiness.js";
