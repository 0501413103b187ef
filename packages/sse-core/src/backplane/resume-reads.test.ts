// resumeReads: an engine's shared reads under an adaptive limit that starts
// at maxReplays and is sampled by each read. A fake engine answers when told.
import { describe, expect, it } from "vitest";
import { resumeReads } from "./resume-reads.js";
import type { TopicRange } from "./shared-reads.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Reads that wait until the test answers them, by topic. */
function heldReads() {
  const asked: { topic: string; answer(range: TopicRange<number>): void }[] = [];
  const read = (topic: string) =>
    new Promise<TopicRange<number> | undefined>((answer) => asked.push({ topic, answer }));
  return { asked, read };
}

const oneEntry: TopicRange<number> = {
  entries: [{ seq: 1, value: 1 }],
  complete: true,
  head: 1,
  floor: 0,
};

describe("resumeReads", () => {
  it("runs at most maxReplays reads at once, the next once one ends", async () => {
    const { asked, read } = heldReads();
    const { reads, limit } = resumeReads(read, 2);
    expect(limit.current).toBe(2);
    const slices = ["a", "b", "c"].map((topic) => reads.slice(topic, "e", 0, 10));
    await settle();
    expect(asked.map((a) => a.topic)).toEqual(["a", "b"]);
    asked[0]!.answer(oneEntry);
    expect((await slices[0])?.upTo).toBe(1);
    await settle();
    expect(asked.map((a) => a.topic)).toEqual(["a", "b", "c"]);
    asked[1]!.answer(oneEntry);
    asked[2]!.answer(oneEntry);
    expect((await Promise.all(slices)).map((slice) => slice?.entries.length)).toEqual([1, 1, 1]);
    expect(reads.reads).toBe(3);
  });

  it("samples the limit with each read: its first read sets the baseline", async () => {
    const { asked, read } = heldReads();
    const { reads, limit } = resumeReads(read, 4);
    expect(limit.baseline).toBeUndefined();
    const slice = reads.slice("a", "e", 0, 10);
    await settle();
    asked[0]!.answer(oneEntry);
    await slice;
    expect(limit.baseline).toBeGreaterThanOrEqual(0);
  });
});
