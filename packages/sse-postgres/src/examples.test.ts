import { describeScaleOutExample } from "@burrow/test-utils/scale-out-example";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";

const prefix = uniquePrefix();

describeScaleOutExample({
  root: new URL("..", import.meta.url),
  env: { DATABASE_URL, SSE_PREFIX: prefix },
  describe: describePostgres,
  cleanup: () => dropPrefix(prefix),
});
