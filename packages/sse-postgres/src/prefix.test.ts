// Issue 27, item 5: a `prefix` without a trailing `_` gave tables like
// `appmeta`; one is now appended. And the README's count of what the
// backplane creates (it said three tables) is checked against the database.

import { readFileSync } from "node:fs";
import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { take, thrownBy, waitFor } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { afterAll, describe, expect, it } from "vitest";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  uniquePrefix,
  withClient,
} from "./fixtures/harness.js";
import { postgresBackplane } from "./index.js";
import { resolveOptions } from "./options.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("the prefix's separator", () => {
  it.each([
    ["myapp", "myapp_"],
    ["app2", "app2_"],
    ["myapp_", "myapp_"],
    ["_", "_"],
    ["a".repeat(29), `${"a".repeat(29)}_`],
  ])("%j is used as %j", (given, used) => {
    expect(resolveOptions({ prefix: given }).prefix).toBe(used);
  });

  it("refuses one that is too long once its _ is appended, showing it as given", () => {
    const error = thrownBy(() => postgresBackplane({ prefix: "a".repeat(30) }));
    expect(SSEOptionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`got "${"a".repeat(30)}"`);
  });
});

describePostgres("a prefix without a separator, on the real PostgreSQL", () => {
  const bare = uniquePrefix().slice(0, -1); // burrow_test_<hex>
  const brokers: EventBroker[] = [];
  const silent = { error: () => {}, info: () => {} };
  const broker = (prefix: string) => {
    const backplane = postgresBackplane({ connectionString: DATABASE_URL, prefix, logger: silent });
    brokers.push(new EventBroker({ historySize: 10, backplane, presence: { debounceMs: 0 } }));
    return brokers.at(-1)!;
  };
  afterAll(async () => {
    for (const b of brokers) b.close();
    await dropPrefix(`${bare}_`);
  });

  it("names the tables after it with a _, shares one topic space with it written so, and creates the five tables the README lists", async () => {
    const written = broker(bare);
    const separated = broker(`${bare}_`);
    const client = separated.subscribe("notes", { member: { id: "ann" } });
    await backplaneReady(separated, 1);
    await backplaneReady(written);
    written.publish("notes", { data: "<li>one space</li>" });
    const [event] = await take(client, 1);
    expect(event?.data).toBe("<li>one space</li>");
    await waitFor(async () => (await written.members("notes")).length === 1, "ann on both");

    const tables = await withClient(DATABASE_URL, async (db) => {
      const { rows } = await db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1) ORDER BY 1",
        [bare],
      );
      return rows.map((row) => (row.tablename as string).slice(bare.length));
    });
    expect(tables).toEqual(["_events", "_meta", "_presence", "_presence_procs", "_topics"]);
    const section = readme.slice(readme.indexOf("## Tables"), readme.indexOf("## Testing"));
    const listed = [...section.matchAll(/^\| `<prefix>(\w+)` /gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(tables.map((t) => t.slice(1)));
    expect(readme).toContain("create five tables and a function");
  });
});
