import { EventBroker } from "@burrow/sse-core";
import { describeClusterExample } from "@burrow/test-utils/cluster-example";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

const prefix = uniquePrefix();

describeClusterExample({
  root: new URL("..", import.meta.url),
  env: { REDIS_URL, REDIS_PREFIX: prefix },
  describe: describeRedis,
  publisher: async () => {
    const backplane = redisBackplane({ url: REDIS_URL, prefix, logger: false });
    const broker = new EventBroker({ historySize: 1000, backplane });
    await backplane.ready();
    return {
      publish: (data) => broker.publish("notes", { data }),
      close: async () => broker.close(),
    };
  },
  cleanup: () => deleteKeys(prefix),
  shownIn: new URL("../../../docs/cluster.md", import.meta.url),
});
