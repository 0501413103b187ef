// Topics PostgreSQL cannot carry (a NUL; a lone surrogate, which it would
// store as U+FFFD) are refused by the broker before any statement, so that
// such a topic can no longer leave the link down for good, nor mix two
// topics' events.
import { EventBroker, handlerFunc, SSEFieldError } from "@burrow/sse-core";
import { take, thrownBy, topicAnswer } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { afterAll, describe, expect, it } from "vitest";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { type PostgresBackplane, postgresBackplane } from "./index.js";
import { channelOf } from "./payload.js";
import { topicProblem } from "./topic-problem.js";

const refused = ["a\u0000b", "\u0000", "a\ud800", "\udc00b", "a\udc00\ud800b"];

describe("topicProblem", () => {
  it.each(refused)("refuses %j", (topic) => {
    expect(topicProblem(topic)).toMatch(/^PostgreSQL (cannot store a NUL|stores a lone)/);
  });

  it.each(["a", "a b", "日本語", "a😀b", "\ud83d\ude00", "\u0001\uffff"])("accepts %j", (topic) => {
    expect(topicProblem(topic)).toBe(undefined);
  });

  it("two topics with different lone surrogates would share a channel (why they are refused)", () => {
    expect(channelOf("p_", "a\ud800")).toBe(channelOf("p_", "a\udc00"));
  });
});

const prefix = uniquePrefix();

/** A broker on the shared PostgreSQL, created just before the test subscribes. */
function created(): { broker: EventBroker; backplane: PostgresBackplane } {
  const backplane = postgresBackplane({ connectionString: DATABASE_URL, prefix, logger: false });
  return { broker: new EventBroker({ historySize: 10, backplane }), backplane };
}

describePostgres("topics PostgreSQL cannot carry (shared PostgreSQL)", () => {
  afterAll(() => dropPrefix(prefix));

  it("subscribing to a topic with NUL right after creation throws SSEFieldError; the link still reaches ready and carries other topics", async () => {
    const { broker, backplane } = created();
    try {
      const error = thrownBy(() => broker.subscribe("a\u0000b"));
      expect(SSEFieldError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        field: "topic",
        message: "sse: topic: PostgreSQL cannot store a NUL (\\u0000) in a topic name",
      });
      await backplane.ready({ timeoutMs: 10_000 });
      for (const topic of refused) {
        expect(thrownBy(() => broker.subscribe(["ok", topic]))).toMatchObject({ field: "topic" });
        expect(thrownBy(() => broker.publish(topic, { data: "x" }))).toMatchObject({
          field: "topic",
        });
      }
      const client = broker.subscribe("a😀b");
      await backplaneReady(broker, 1);
      expect(backplane.stats()).toMatchObject({ state: "ready", errors: 0 });
      broker.publish("a😀b", { data: "through PostgreSQL" });
      const [event] = await take(client, 1);
      expect(event).toMatchObject({ data: "through PostgreSQL", id: expect.stringMatching(/-1$/) });
    } finally {
      broker.close();
    }
  });

  it("a handler request for such a topic is answered 400, even through a topicPattern that lets it in", async () => {
    const { broker, backplane } = created();
    try {
      expect(await topicAnswer(handlerFunc, broker, "a\u0000b")).toEqual({
        status: 400,
        body: "sse: topic: PostgreSQL cannot store a NUL (\\u0000) in a topic name",
      });
      await backplane.ready({ timeoutMs: 10_000 });
      expect(broker.stats()).toMatchObject({ clients: 0, topics: 0 });
    } finally {
      broker.close();
    }
  });
});
