// Issue 27, item 5: a `prefix` without a trailing separator gave keys like
// `appmeta`; one that ends in a letter or digit now gets `:` appended.

import { EventBroker } from "@burrow/sse-core";
import { take } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";
import { withSeparator } from "./options.js";

describe("the prefix's separator", () => {
  it.each([
    ["myapp", "myapp:"],
    ["app.v2", "app.v2:"],
    ["données", "données:"],
    ["myapp:", "myapp:"],
    ["my-app-", "my-app-"],
    ["app.", "app."],
    ["", ""],
  ])("%j is used as %j", (given, used) => {
    expect(withSeparator(given)).toBe(used);
  });
});

describeRedis("a prefix without a separator, on the real Redis", () => {
  const admin = new Redis(REDIS_URL, { lazyConnect: true });
  const bare = uniquePrefix().slice(0, -1); // burrow-sse-test:<hex>
  const brokers: EventBroker[] = [];
  const silent = { error: () => {}, info: () => {} };
  const broker = (prefix: string) => {
    const backplane = redisBackplane({ url: REDIS_URL, prefix, logger: silent });
    brokers.push(new EventBroker({ historySize: 10, backplane }));
    return brokers.at(-1)!;
  };
  afterAll(async () => {
    for (const b of brokers) b.close();
    await deleteKeys(bare);
    admin.disconnect();
  });

  it("names every key after it with a `:`, and shares one topic space with the same prefix written with it", async () => {
    const written = broker(bare);
    const separated = broker(`${bare}:`);
    const client = separated.subscribe("notes");
    await backplaneReady(separated, 1);
    await backplaneReady(written);
    written.publish("notes", { data: "<li>one space</li>" });
    const [event] = await take(client, 1);
    expect(event?.data).toBe("<li>one space</li>");
    const keys = await admin.keys(`${bare}*`);
    expect(keys.sort()).toEqual([`${bare}:h:notes`, `${bare}:meta`]);
  });
});
