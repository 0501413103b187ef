// The seam between a replay and live events, under a flood: resumes from
// `broker.cursor()` (near the head, so the replay's read and the live
// notifications of the same events overlap) must see every event once.
import { EventBroker } from "@burrow/sse-core";
import { take, waitFor } from "@burrow/test-utils";
import { afterAll, expect, it } from "vitest";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { postgresBackplane } from "./index.js";

const prefix = uniquePrefix();

describePostgres("the seam of a resume under a flood", () => {
  afterAll(() => dropPrefix(prefix));

  it("600 resumes from the current cursor while 5 events/ms are published: each gets the next events once, in order", async () => {
    const make = () =>
      new EventBroker({
        historySize: 1000,
        bufferSize: 1000,
        backplane: postgresBackplane({ connectionString: DATABASE_URL, prefix, logger: false }),
      });
    const a = make();
    const b = make();
    b.subscribe("s");
    await waitFor(
      () =>
        a.stats().backplane?.state === "ready" &&
        b.stats().backplane?.state === "ready" &&
        b.stats().backplane?.topics === 1,
      "both to be ready",
    );
    const flood = setInterval(() => {
      for (let i = 0; i < 5; i++) a.publish("s", { data: "x" });
    }, 1);
    const wrong: string[] = [];
    try {
      for (let round = 0; round < 60; round++) {
        const cursor = (await b.cursor())!;
        const after = Number(cursor.split("-")[1]);
        const clients = Array.from({ length: 10 }, () => b.subscribe("s", { lastEventId: cursor }));
        for (const client of clients) {
          const seqs = (await take(client, 20)).map((e) => Number(e.id?.split("-")[1]));
          const expected = Array.from({ length: 20 }, (_, i) => after + 1 + i);
          if (seqs.join() !== expected.join()) wrong.push(`after ${after}: ${seqs.join()}`);
          b.unsubscribe(client);
        }
      }
    } finally {
      clearInterval(flood);
      a.close();
      b.close();
    }
    expect(wrong).toEqual([]);
    expect(b.stats()).toMatchObject({ resumed: 600, resumeMisses: 0 });
  });
});
