import { EventBroker } from "@burrow/sse-core";
import { describeClusterExample } from "@burrow/test-utils/cluster-example";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { postgresBackplane } from "./index.js";

const prefix = uniquePrefix();

describeClusterExample({
  root: new URL("..", import.meta.url),
  env: { DATABASE_URL, SSE_PREFIX: prefix },
  describe: describePostgres,
  publisher: async () => {
    const backplane = postgresBackplane({ connectionString: DATABASE_URL, prefix, logger: false });
    const broker = new EventBroker({ historySize: 1000, backplane });
    await backplane.ready();
    return {
      publish: (data) => broker.publish("notes", { data }),
      close: async () => broker.close(),
    };
  },
  cleanup: () => dropPrefix(prefix),
});
