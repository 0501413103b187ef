// engineStats: an engine's stats read from its parts now, every field from
// the part that owns it (the link, the publisher, the resumes, the order).
import { describe, expect, it } from "vitest";
import { type EngineParts, engineStats } from "./engine-stats.js";

/** Parts whose every counter is a different number, so that a field read from the wrong one shows. */
function parts(lastError: Error | undefined): EngineParts {
  return {
    link: { state: "down", errors: 1, timeouts: 2, lastError },
    publisher: { published: 3, localOnly: 4, pending: 5, overflow: 6 },
    resumes: {
      counters: () => ({ replays: 7, replaysSkipped: 8, replayReads: 9, replayLimit: 10 }),
    },
    order: { received: 11, recovered: 12, gaps: 13, topics: 14, presenceSweeps: 15 },
  };
}

describe("engineStats", () => {
  it("reads each field from the part that owns it, the last error by its message", () => {
    expect(engineStats(parts(new Error("refused")))).toEqual({
      state: "down",
      errors: 1,
      timeouts: 2,
      lastError: "refused",
      published: 3,
      localOnly: 4,
      pending: 5,
      overflow: 6,
      replays: 7,
      replaysSkipped: 8,
      replayReads: 9,
      replayLimit: 10,
      received: 11,
      recovered: 12,
      gaps: 13,
      topics: 14,
      presenceSweeps: 15,
    });
  });

  it("reports no last error before one was seen, and reads the parts again each time", () => {
    const link = {
      state: "ready" as const,
      errors: 0,
      timeouts: 0,
      lastError: undefined as Error | undefined,
    };
    const engine = { ...parts(undefined), link };
    const before = engineStats(engine);
    expect(before).toHaveProperty("lastError", undefined);
    engine.order.received = 20;
    link.lastError = new Error("later");
    expect(engineStats(engine)).toMatchObject({ received: 20, lastError: "later" });
    expect(before.received).toBe(11);
  });
});
