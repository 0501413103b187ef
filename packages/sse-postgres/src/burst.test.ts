// Bursts on the real PostgreSQL at DATABASE_URL (test-utils' burst suite): a
// burst past the default maxPending reaches another process in full, and an
// overflow while PostgreSQL is held (a lock on the counter) is signalled to
// the other process once it answers.
import { EventBroker } from "@burrow/sse-core";
import { type BurstBroker, describeBursts } from "@burrow/test-utils/backplane-burst-suite";
import pg from "pg";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { postgresBackplane } from "./index.js";

const silent = { error: () => {}, info: () => {} };
const opened: { broker: EventBroker; prefix: string }[] = [];
const topics = { feed: { snapshot: () => "<p>feed as now</p>", target: "#feed" } };

describeBursts({
  name: "sse-postgres",
  describe: describePostgres,
  uniquePrefix,
  open(prefix, { holdable: _, ...options } = {}) {
    const backplane = postgresBackplane({
      connectionString: DATABASE_URL,
      prefix,
      logger: silent,
      ...options,
    });
    const broker = new EventBroker({ historySize: 100, bufferSize: 20_000, backplane, topics });
    opened.push({ broker, prefix });
    return broker as BurstBroker;
  },
  async hold(prefix) {
    // A transaction holding the counter's row: every publish waits for it.
    const blocker = new pg.Client(DATABASE_URL);
    await blocker.connect();
    await blocker.query(`BEGIN; LOCK TABLE ${prefix}meta IN ACCESS EXCLUSIVE MODE`);
    return async () => {
      await blocker.query("COMMIT");
      await blocker.end();
    };
  },
  async cleanUp() {
    const prefixes = new Set(opened.map((o) => o.prefix));
    for (const { broker } of opened.splice(0)) broker.close();
    for (const prefix of prefixes) await dropPrefix(prefix);
  },
});
