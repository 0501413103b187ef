// Three server processes (child processes running node:http + sse-core's
// handler + the PostgreSQL backplane, from dist) on the real PostgreSQL at
// DATABASE_URL: the shared suite (test-utils' backplane-suite, also run
// against Redis): one topic space, one order, and resume across processes.
import { describeBackplaneProcesses } from "@burrow/test-utils/backplane-suite";
import {
  describePostgres,
  dropPrefix,
  startPostgresServer,
  uniquePrefix,
} from "./fixtures/harness.js";

describeBackplaneProcesses({
  describe: describePostgres,
  engine: "PostgreSQL",
  uniquePrefix,
  start: (prefix) => startPostgresServer({ prefix }),
  drop: dropPrefix,
});
