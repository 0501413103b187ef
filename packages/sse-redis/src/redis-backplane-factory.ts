import { RedisClusterBackplane } from "./cluster-backplane.js";
import type { RedisClusterOption } from "./cluster-options.js";
import type { RedisBackplaneOptions } from "./options.js";
import { RedisBackplane } from "./redis-backplane.js";

/**
 * A Redis backplane for {@link EventBroker}: every broker created with one (in
 * any process, on the same Redis and prefix) shares one topic space, one event
 * order, and one history, so a client resumes with `Last-Event-ID` on any
 * process.
 *
 * @example
 * ```ts
 * import { EventBroker } from "@burrow/sse-core";
 * import { redisBackplane } from "@burrow/sse-redis";
 *
 * const broker = new EventBroker({
 *   historySize: 100,
 *   backplane: redisBackplane({ url: process.env.REDIS_URL }),
 * });
 * ```
 */
export function redisBackplane(
  options: RedisBackplaneOptions & { cluster: RedisClusterOption },
): RedisClusterBackplane;
export function redisBackplane(
  options?: RedisBackplaneOptions & { cluster?: undefined },
): RedisBackplane;
export function redisBackplane(
  options: RedisBackplaneOptions,
): RedisBackplane | RedisClusterBackplane;
export function redisBackplane(
  options: RedisBackplaneOptions = {},
): RedisBackplane | RedisClusterBackplane {
  const cluster = (options as { cluster?: unknown } | null)?.cluster;
  return cluster === undefined ? new RedisBackplane(options) : new RedisClusterBackplane(options);
}
