// Clients leaving while their reads are held by a StormHold (the reads of a
// resume storm wait until it has passed): a held read nobody waits for any
// more leaves the hold at once (nothing of it is kept, nothing is read for
// it), and the other held reads are served once the storm has passed, in the
// order they were held, each once. The storm is fed by hand on a fake clock;
// the engine answers when told.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ReplayQueue } from "./replay-queue.js";
import { type RangeSlice, SharedReads, type TopicRange } from "./shared-reads.js";
import { StormHold } from "./storm-hold.js";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Reads through a hold of `burst` 4 per 10 ms (never released by age), on an engine the test answers. */
function heldReads() {
  const hold = new StormHold({ burst: 4, windowMs: 10, maxHoldMs: 60_000, now: () => Date.now() });
  const calls: { topic: string; after: number; answer(range: TopicRange<number>): void }[] = [];
  const reads = new SharedReads<number>(
    (topic, _epoch, after) => new Promise((answer) => calls.push({ topic, after, answer })),
    new ReplayQueue(4),
    () => {},
    () => 0,
    hold,
  );
  /** A burst of resumes arrives now (of other topics): a storm starts, or goes on. */
  const burst = () => {
    for (let i = 0; i < 4; i++) hold.arrive();
  };
  /** The storm goes on for `looks` looks at the held reads: a burst arrives before each. */
  const storm = async (looks: number) => {
    for (let look = 0; look < looks; look++) {
      burst();
      await vi.advanceTimersByTimeAsync(10);
    }
  };
  /** A resume of `topic` after `after`, whose client leaves on `leave()`. */
  const resume = (topic: string, after: number) => {
    const left = new AbortController();
    return {
      slice: reads.slice(topic, "e", after, 10, left.signal),
      leave: () => left.abort(),
    };
  };
  return { hold, calls, reads, burst, storm, resume };
}

/** The seqs of `slice`, or undefined for a miss. */
const seqs = (slice: RangeSlice<number> | undefined) => slice?.entries.map((entry) => entry.seq);

describe("clients leaving while their reads are held by a storm", () => {
  it("a held read whose clients all left leaves the hold; half of a topic leaving, the rest are served in order, once", async () => {
    const { hold, calls, reads, burst, storm, resume } = heldReads();
    burst();
    const gone = [resume("a", 0), resume("a", 1)];
    const half = [0, 1, 2, 3].map((after) => resume("b", after));
    const later = resume("c", 2);
    expect(hold.size).toBe(3);
    await storm(3);
    expect(calls).toEqual([]);

    for (const client of [...gone, half[0]!, half[2]!]) client.leave();
    expect(await Promise.all([...gone, half[0]!, half[2]!].map((c) => c.slice))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    // Nothing of a's read is kept while the storm goes on; b's and c's still are.
    expect(hold.size).toBe(2);
    expect(reads.size).toBe(3);
    await storm(2);
    expect(calls).toEqual([]);

    // The storm passes: b's read, then c's, in the order they were held; a's never.
    await vi.advanceTimersByTimeAsync(10);
    expect(calls.map(({ topic, after }) => `${topic}>${after}`)).toEqual(["b>1", "c>2"]);
    const range = { entries: [2, 3, 4, 5].map((seq) => ({ seq, value: seq })), complete: true };
    calls[0]!.answer({ ...range, head: 5, floor: 0 });
    calls[1]!.answer({ ...range, head: 5, floor: 0 });
    expect(seqs(await half[1]!.slice)).toEqual([2, 3, 4, 5]);
    expect(seqs(await half[3]!.slice)).toEqual([4, 5]);
    expect(seqs(await later.slice)).toEqual([3, 4, 5]);
    await vi.runOnlyPendingTimersAsync();
    expect(calls).toHaveLength(2);
    expect({ reads: reads.reads, skipped: reads.skipped, waiting: reads.size }).toEqual({
      reads: 2,
      skipped: 4,
      waiting: 0,
    });
    expect({ size: hold.size, held: hold.held }).toEqual({ size: 0, held: 3 });
  });

  it("every held client leaving empties the hold at once, and a trickle after it is not held", async () => {
    const { hold, calls, reads, burst, resume } = heldReads();
    burst();
    const clients = ["a", "b", "c"].map((topic) => resume(topic, 0));
    expect(hold.size).toBe(3);
    for (const client of clients) client.leave();
    expect(hold.size).toBe(0);
    // No look is left armed for reads nobody waits for.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    const next = resume("a", 0);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map(({ topic }) => topic)).toEqual(["a"]);
    calls[0]!.answer({ entries: [], complete: true, head: 0, floor: 0 });
    expect(await next.slice).toEqual({ entries: [], upTo: 0 });
    expect({ reads: reads.reads, skipped: reads.skipped, held: hold.held }).toEqual({
      reads: 1,
      skipped: 3,
      held: 3,
    });
  });
});
