// A resume storm on a fresh process (its history reads held by the storm
// hold) in which half the resuming clients leave while their reads are held,
// on real Redis through node:http and raw SSE clients: a topic whose every
// client left is never read (its held read leaves the hold at once), the
// clients that stayed get what they missed, then live events, each once and
// in order, and nothing is kept once they are served and gone.
import { EventBroker, handlerFunc } from "@burrow/sse-core";
import { StormHold } from "@burrow/sse-core/adapter";
import { cleanupAfterEach, listen, rawClient, take, waitFor } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { type RedisBackplane, redisBackplane } from "./index.js";

const cleanups = cleanupAfterEach();
const silent = { error: () => {}, info: () => {} };

interface ResumeStats {
  replays: number;
  replayReads: number;
  replaysSkipped: number;
}

/**
 * Replaces the storm hold of `backplane`'s shared reads (internal: its
 * replayer's engine) with one that holds for a minute at most, so that the
 * storm lasts exactly as long as the test feeds it, however slow the machine.
 */
function longHold(backplane: RedisBackplane): StormHold {
  const reads = (backplane as unknown as { replayer: { engine: { reads: { hold: StormHold } } } })
    .replayer.engine.reads;
  reads.hold = new StormHold({ maxHoldMs: 60_000 });
  return reads.hold;
}

describeRedis("a resume storm whose clients leave while their reads are held", () => {
  it("of 18 resuming clients on 3 topics, 9 leave while held (all of a, half of b): a is never read; the others get their events once, in order", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const options = { url: REDIS_URL, prefix, logger: silent };
    const before = new EventBroker({ historySize: 10, backplane: redisBackplane(options) });
    cleanups.push(() => before.close());
    const seen = before.subscribe(["a", "b", "c"]);
    await backplaneReady(before, 3);
    for (const data of ["a1", "a2", "b1", "b2", "c1", "c2"]) before.publish(data[0]!, { data });
    const idOf = new Map((await take(seen, 6)).map((e) => [e.data!, e.id!]));

    // A fresh process: only Redis knows these ids.
    const backplane = redisBackplane(options);
    const hold = longHold(backplane);
    const fresh = new EventBroker({ historySize: 10, backplane });
    cleanups.push(() => fresh.close());
    const server = await listen(
      handlerFunc(fresh, (req) => new URL(req.url!, "http://x").searchParams.get("t")!, {
        keepaliveMs: 0,
        reconnectWindowMs: 0,
      }),
    );
    cleanups.push(() => server.close());
    const open = (topic: string, lastEventId?: string) => {
      const headers = lastEventId === undefined ? undefined : { "Last-Event-ID": lastEventId };
      const client = rawClient(server.port, `/?t=${topic}`, { headers });
      cleanups.push(() => client.close());
      return client;
    };
    const watchers = ["a", "b", "c"].map((topic) => open(topic));
    await backplaneReady(fresh, 3);
    const resumeStats = () => fresh.stats().backplane as unknown as ResumeStats;
    const { replayReads: readsBefore, replaysSkipped: skippedBefore } = resumeStats();

    // The storm: resumes keep arriving (a burst every millisecond) until the test stops it.
    const storm = setInterval(() => {
      for (let i = 0; i < 8; i++) hold.arrive();
    }, 1);
    cleanups.push(() => clearInterval(storm));
    const clients = ["a", "b", "c"].flatMap((topic) =>
      Array.from({ length: 6 }, (_, i) => {
        const from = `${topic}${1 + (i % 2)}`;
        // Every client of a leaves, and half of b's; c's stay.
        const leaves = topic === "a" || (topic === "b" && i < 3);
        return { topic, from, leaves, client: open(topic, idOf.get(from)) };
      }),
    );
    await waitFor(
      () => clients.every(({ client }) => client.comments.includes("resuming")),
      "every resume's head",
    );
    await waitFor(() => hold.size === 3, "one read of each topic held");
    expect(resumeStats()).toMatchObject({ replays: 18, replayReads: readsBefore });

    const leaving = clients.filter(({ leaves }) => leaves);
    for (const { client } of leaving) client.close();
    await waitFor(() => fresh.stats().clients === 3 + 9, "the server to see 9 clients leave");
    // a's read, which nobody waits for any more, leaves the hold; b's and c's are still held.
    expect(hold.size).toBe(2);
    expect(resumeStats()).toMatchObject({ replays: 9, replayReads: readsBefore });

    // Live while held, then the storm passes.
    for (const data of ["b3", "c3"]) before.publish(data[0]!, { data });
    await waitFor(
      () => watchers[1]!.events.length === 1 && watchers[2]!.events.length === 1,
      "b3 and c3 on the fresh process",
    );
    clearInterval(storm);
    for (const data of ["bend", "cend"]) before.publish(data[0]!, { data });
    const staying = clients.filter(({ leaves }) => !leaves);
    await waitFor(
      () => staying.every(({ client }) => client.events.at(-1)?.data?.endsWith("end")),
      "every staying client's last event",
    );
    for (const { topic, from, client } of staying) {
      const missed = from.endsWith("1") ? [`${topic}2`] : [];
      expect({ from, got: client.events.map((e) => e.data) }).toEqual({
        from,
        got: [...missed, `${topic}3`, `${topic}end`],
      });
    }
    expect(hold.size).toBe(0);
    expect(resumeStats()).toMatchObject({
      replays: 0,
      replayReads: readsBefore + 2,
      replaysSkipped: skippedBefore + 9,
    });
    expect(fresh.stats()).toMatchObject({ resumed: 9, resumeMisses: 0 });

    for (const { client } of [...staying, ...watchers.map((client) => ({ client }))])
      client.close();
    await waitFor(() => fresh.stats().clients === 0, "every client gone");
  });
});
