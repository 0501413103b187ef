export type { BackplaneLogger, RedisBackplaneOptions } from "./options.js";
export { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from "./options.js";
export type { RedisBackplaneStats } from "./redis-backplane.js";
export { RedisBackplane, redisBackplane } from "./redis-backplane.js";
