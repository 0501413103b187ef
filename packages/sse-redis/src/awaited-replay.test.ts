// A process that did not see what a client missed (a fresh one, after a
// deploy) resumes it from Redis: with the replay read held back (a Redis slow
// to answer in a reconnect storm), the client has its 200, headers and first
// bytes before the read, then the replay, then live events, each once.
import { EventBroker, handler } from "@burrow/sse-core";
import { cleanupAfterEach, listen, rawClient, take, waitFor } from "@burrow/test-utils";
import { backplaneReady } from "@burrow/test-utils/backplane-suite";
import { expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";
import { type RedisBackplane, redisBackplane } from "./index.js";

const cleanups = cleanupAfterEach();
const silent = { error: () => {}, info: () => {} };

/** `backplane`, its replays held until `release()` (then each reads Redis as usual). */
function heldBack(backplane: RedisBackplane) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let replays = 0;
  const held = new Proxy(backplane, {
    get(target, key) {
      if (key === "replay") {
        return async (...args: Parameters<typeof target.replay>) => {
          replays++;
          await gate;
          return target.replay(...args);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { held, release, replays: () => replays };
}

describeRedis("a resume awaiting its replay from Redis", () => {
  it("gets its head and a comment before the replay is read, then the replay, then live events, each once, in order", async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const options = { url: REDIS_URL, prefix, logger: silent };
    const before = new EventBroker({ historySize: 10, backplane: redisBackplane(options) });
    cleanups.push(() => before.close());
    await backplaneReady(before);
    const seen = before.subscribe("news");
    await backplaneReady(before, 1);
    for (const n of [1, 2, 3]) before.publish("news", { data: `n${n}` });
    const ids = (await take(seen, 3)).map((e) => e.id);

    // The fresh process: its replays wait until released.
    const slow = heldBack(redisBackplane(options));
    const fresh = new EventBroker({ historySize: 10, backplane: slow.held });
    cleanups.push(() => fresh.close());
    await backplaneReady(fresh);
    const server = await listen(handler(fresh, "news"));
    cleanups.push(() => server.close());
    const client = rawClient(server.port, "/", { headers: { "Last-Event-ID": ids[0]! } });
    cleanups.push(() => client.close());
    await waitFor(() => client.comments.includes("resuming"), "the head and the opening comment");
    expect(client.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(slow.replays()).toBe(1);
    expect(client.events).toEqual([]);

    // Live while the replay waits: held, then written after it (and not twice: the read has it too).
    await backplaneReady(fresh, 1);
    before.publish("news", { data: "n4" });
    await take(seen, 1);
    await waitFor(() => (fresh.stats().backplane?.received ?? 0) >= 1, "n4 on the fresh process");
    slow.release();
    await waitFor(() => client.events.length >= 3, "the replay and n4");
    before.publish("news", { data: "n5" });
    await waitFor(() => client.events.length >= 4, "n5");
    expect(client.events.map((e) => e.data)).toEqual(["n2", "n3", "n4", "n5"]);
    expect(fresh.stats()).toMatchObject({ resumed: 1, resumeMisses: 0, dropped: 0 });
  });
});
