// The publish script on the real Redis at REDIS_URL, read by the codec: one
// call orders a run of one topic's events and publishes them in ONE channel
// message, which decodes to those events with their seqs; on a cluster, the
// same message goes out by SPUBLISH.

import { once } from "node:events";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { CLUSTER_PUBLISH_SCRIPT } from "./cluster-link.js";
import { decodeMessages, topicKeys } from "./codec.js";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { defineScripts } from "./scripts.js";

const prefix = uniquePrefix();
afterAll(() => deleteKeys(prefix));

it("the cluster's publish script sends its one message by SPUBLISH", () => {
  expect(CLUSTER_PUBLISH_SCRIPT.match(/redis\.call\('S?PUBLISH'/g)).toEqual([
    "redis.call('SPUBLISH'",
  ]);
});

describeRedis("the publish script", () => {
  it("publishes one message per call, carrying each event it ordered (a gap marker too)", async () => {
    const command = defineScripts(new Redis(REDIS_URL));
    const subscriber = new Redis(REDIS_URL);
    try {
      const keys = topicKeys(prefix, "news");
      await subscriber.subscribe(keys.channel);
      const received: string[] = [];
      subscriber.on("message", (_channel: string, raw: string) => received.push(raw));
      const call = (...events: string[]) =>
        command.ssePublish(
          keys.meta,
          keys.evicted,
          keys.stream,
          keys.channel,
          "news",
          10,
          "ep",
          "1",
          ...events,
        );

      const last = await call('{"data":"a"}', "p:1", "", "p:0", '{"data":"c","id":"mine"}', "p:2");
      await call('{"data":"d"}', "p:3");
      while (received.length < 2) await once(subscriber, "message");

      // Pub/sub keeps a connection's order: had the first call sent more than one message, the second call's would not be second.
      const [first, second] = received.map((raw) => decodeMessages(raw));
      const epoch = await command.hget(keys.meta, "epoch");
      expect(first).toEqual([
        { seq: last - 2, epoch, origin: "p:1", event: { data: "a", id: `${epoch}-${last - 2}` } },
        { seq: last - 1, epoch, origin: "p:0", event: {}, gap: true },
        { seq: last, epoch, origin: "p:2", event: { data: "c", id: "mine" } },
      ]);
      expect(second).toEqual([
        { seq: last + 1, epoch, origin: "p:3", event: { data: "d", id: `${epoch}-${last + 1}` } },
      ]);
      // The stream holds the events, not the marker, which raised the topic's evicted seq.
      const stream = await command.xrange(keys.stream, "-", "+");
      expect(stream.map(([id]) => id)).toEqual([`${last - 2}-0`, `${last}-0`, `${last + 1}-0`]);
      expect(await command.hget(keys.evicted, "news")).toBe(String(last - 1));
    } finally {
      command.disconnect();
      subscriber.disconnect();
    }
  });
});
