import { describeScaleOutExample } from "@burrow/test-utils/scale-out-example";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";

const prefix = uniquePrefix();

describeScaleOutExample({
  root: new URL("..", import.meta.url),
  env: { REDIS_URL, REDIS_PREFIX: prefix },
  describe: describeRedis,
  cleanup: () => deleteKeys(prefix),
});
