// Three server processes (child processes running node:http + sse-core's
// handler + the Redis backplane, from dist) on the real Redis at REDIS_URL:
// the shared suite (test-utils' backplane-suite, also run against
// PostgreSQL): one topic space, one order, and resume across processes.
import { describeBackplaneProcesses } from "@burrow/test-utils/backplane-suite";
import { deleteKeys, describeRedis, startRedisServer, uniquePrefix } from "./fixtures/harness.js";

describeBackplaneProcesses({
  describe: describeRedis,
  engine: "Redis",
  uniquePrefix,
  start: (prefix) => startRedisServer({ prefix }),
  drop: deleteKeys,
});
