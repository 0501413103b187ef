import type { BackplaneEngineStats } from "@burrow/sse-core/adapter";

/**
 * `broker.stats().backplane` with a Redis backplane: the backplane kit's
 * engine stats, Redis's `published` being the events sent to Redis from
 * this process, its `timeouts` the connections closed because Redis did not
 * answer within `timeoutMs` (each reconnection attempt to a hung Redis
 * counts).
 */
export interface RedisBackplaneStats extends BackplaneEngineStats {}
