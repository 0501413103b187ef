// SharedReads: replays of a topic share one read from the lowest cursor
// waiting, each gets its slice or a miss; arrivals during a read wait for the
// next; aborts leave at once; flush turns everyone into a miss. A fake
// engine answers when told; latencies come from a fake clock.
import { describe, expect, it, vi } from "vitest";
import { ReplayQueue } from "./replay-queue.js";
import { type RangeEntry, SharedReads, type TopicRange } from "./shared-reads.js";
import { sharedReplay } from "./shared-replay.js";
import { StormHold } from "./storm-hold.js";

/** A stored event of the fake engine. */
interface Stored {
  seq: number;
  label: string;
}

interface Call {
  topic: string;
  after: number;
  count: number;
  signal: AbortSignal;
  answer(range: TopicRange<Stored> | undefined): void;
}

/** A fake engine: each read waits until the test answers it; its reads never held unless `hold` says (a storm is 1,000 resumes at once). */
function engine(max = 4, hold = new StormHold({ burst: 1_000 })) {
  const calls: Call[] = [];
  let clock = 0;
  const latencies: number[] = [];
  const reads = new SharedReads<Stored>(
    (topic, _epoch, after, count, signal) =>
      new Promise((answer) => calls.push({ topic, after, count, signal, answer })),
    new ReplayQueue(max),
    (ms) => latencies.push(ms),
    () => clock,
    hold,
  );
  const tick = (ms: number) => {
    clock += ms;
  };
  return { calls, reads, latencies, tick };
}

/** Entries at `seqs` of a topic, labelled `<topic>@<seq>`. */
function entries(topic: string, seqs: number[]): RangeEntry<Stored>[] {
  return seqs.map((seq) => ({ seq, value: { seq, label: `${topic}@${seq}` } }));
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("SharedReads", () => {
  it("serves every replay of a topic waiting from one read at the lowest cursor, each its slice", async () => {
    const { calls, reads, latencies, tick } = engine();
    const slices = [5, 3, 7, 3].map((after) => reads.slice("t", "e", after, 10));
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ topic: "t", after: 3, count: 10 + 1 + 4 });
    expect(reads.size).toBe(4);
    tick(7);
    calls[0]!.answer({ entries: entries("t", [4, 6, 8]), complete: true, head: 9, floor: 0 });
    const got = await Promise.all(slices);
    expect(got.map((slice) => slice?.entries.map((entry) => entry.seq))).toEqual([
      [6, 8],
      [4, 6, 8],
      [8],
      [4, 6, 8],
    ]);
    expect(got.every((slice) => slice?.upTo === 9)).toBe(true);
    expect(reads.reads).toBe(1);
    expect(reads.size).toBe(0);
    expect(latencies).toEqual([7]);
  });

  it("reads one topic at a time: arrivals during its read share the next, from their lowest cursor", async () => {
    const { calls, reads } = engine();
    const first = reads.slice("t", "e", 1, 10);
    const other = reads.slice("u", "e", 1, 10);
    await settle();
    expect(calls.map((call) => call.topic)).toEqual(["t", "u"]);
    const later = [reads.slice("t", "e", 4, 10), reads.slice("t", "e", 3, 10)];
    await settle();
    expect(calls).toHaveLength(2);
    calls[0]!.answer({ entries: entries("t", [2, 4]), complete: true, head: 4, floor: 0 });
    expect((await first)?.entries).toHaveLength(2);
    await settle();
    expect(calls).toHaveLength(3);
    expect(calls[2]).toMatchObject({ topic: "t", after: 3 });
    calls[2]!.answer({ entries: entries("t", [4, 5]), complete: true, head: 5, floor: 0 });
    expect((await Promise.all(later)).map((slice) => slice?.entries.length)).toEqual([1, 2]);
    calls[1]!.answer({ entries: [], complete: true, head: 5, floor: 0 });
    expect(await other).toEqual({ entries: [], upTo: 5 });
    expect(reads.reads).toBe(3);
  });

  it("a miss for a cursor never issued, below the floor, or with more than the limit after it; a failed read is a miss for all", async () => {
    const { calls, reads } = engine();
    const slices = [9, 1, 2, 5].map((after) => reads.slice("t", "e", after, 2));
    await settle();
    calls[0]!.answer({ entries: entries("t", [3, 4, 6]), complete: true, head: 6, floor: 2 });
    expect((await Promise.all(slices)).map((slice) => slice?.entries.length)).toEqual([
      undefined, // above the head
      undefined, // below the floor
      undefined, // 3 after it, limit 2
      1,
    ]);
    const failed = [reads.slice("t", "e", 1, 2), reads.slice("t", "e", 2, 2)];
    await settle();
    calls[1]!.answer(undefined);
    expect(await Promise.all(failed)).toEqual([undefined, undefined]);
  });

  it("a replay a read left undecided (the read stopped short, its slice within the limit) waits for the next", async () => {
    const { calls, reads } = engine();
    const low = reads.slice("t", "e", 0, 2);
    const high = reads.slice("t", "e", 4, 2);
    await settle();
    expect(calls[0]!.count).toBe(6); // 2 x (limit + 1) at most
    calls[0]!.answer({
      entries: entries("t", [1, 2, 3, 4, 5, 6]),
      complete: false,
      head: 9,
      floor: 0,
    });
    expect(await low).toBeUndefined(); // more than 2 after it
    await settle();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ after: 4, count: 3 });
    calls[1]!.answer({ entries: entries("t", [5, 6]), complete: true, head: 9, floor: 0 });
    expect((await high)?.entries.map((entry) => entry.seq)).toEqual([5, 6]);
  });

  it("a replay whose client leaves before its read gets nothing at once; alone, nothing is read", async () => {
    const { calls, reads } = engine(1);
    const busy = reads.slice("a", "e", 0, 5);
    await settle();
    const controller = new AbortController();
    const leaving = reads.slice("t", "e", 0, 5, controller.signal);
    await settle();
    controller.abort();
    expect(await leaving).toBeUndefined();
    expect(reads.skipped).toBe(1);
    calls[0]!.answer({ entries: [], complete: true, head: 1, floor: 0 });
    await busy;
    await settle();
    expect(calls).toHaveLength(1);
    expect(reads.reads).toBe(1);
    expect(await reads.slice("t", "e", 0, 5, controller.signal)).toBeUndefined();
  });

  it("a client leaving during the shared read gets nothing at once, the others their slices; all leaving stops the read", async () => {
    const { calls, reads, latencies } = engine();
    const controller = new AbortController();
    const leaving = reads.slice("t", "e", 0, 5, controller.signal);
    const staying = reads.slice("t", "e", 0, 5);
    await settle();
    controller.abort();
    expect(await leaving).toBeUndefined();
    expect(calls[0]!.signal.aborted).toBe(false);
    calls[0]!.answer({ entries: entries("t", [1]), complete: true, head: 1, floor: 0 });
    expect((await staying)?.entries).toHaveLength(1);
    expect(reads.skipped).toBe(0);
    const alone = new AbortController();
    const gone = reads.slice("t", "e", 0, 5, alone.signal);
    await settle();
    alone.abort();
    expect(await gone).toBeUndefined();
    expect(calls[1]!.signal.aborted).toBe(true);
    calls[1]!.answer(undefined);
    await settle();
    expect(latencies).toHaveLength(1); // a read stopped for nobody tells nothing of the engine
  });

  it("holds reads while resumes arrive in a storm: the resumes of many turns share one read once it passed", async () => {
    const hold = new StormHold({ burst: 4, windowMs: 5 });
    const { calls, reads } = engine(4, hold);
    for (let i = 0; i < 4; i++) hold.arrive(); // a storm is under way
    const slices: Promise<unknown>[] = [];
    for (let turn = 0; turn < 3; turn++) {
      // Each turn brings more than a burst: every look at the held read sees the storm go on.
      for (let i = 0; i < 8; i++) slices.push(reads.slice("t", "e", 10 * turn + i, 100));
      await settle();
      expect(calls).toHaveLength(0);
    }
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toMatchObject({ topic: "t", after: 0 });
    calls[0]!.answer({
      entries: entries("t", [5, 15, 25, 30]),
      complete: true,
      head: 30,
      floor: 0,
    });
    const got = (await Promise.all(slices)) as ({ entries: RangeEntry<Stored>[] } | undefined)[];
    expect(got.map((slice) => slice?.entries.length)).toEqual([
      ...[4, 4, 4, 4, 4, 3, 3, 3],
      ...[3, 3, 3, 3, 3, 2, 2, 2],
      ...[2, 2, 2, 2, 2, 1, 1, 1],
    ]);
    expect(reads.reads).toBe(1);
    expect(hold.held).toBe(1);
  });

  it("one read serves a batch too large to spread into arguments (150,000 waiters of one topic): no RangeError, no hang", async () => {
    const { calls, reads } = engine();
    const slices = Array.from({ length: 150_000 }, (_, i) => reads.slice("t", "e", i % 3, 10));
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toMatchObject({ after: 0, count: 10 + 1 + 2 });
    calls[0]!.answer({ entries: entries("t", [1, 2, 3]), complete: true, head: 3, floor: 0 });
    const got = await Promise.all(slices);
    expect(got.slice(0, 3).map((slice) => slice?.entries.length)).toEqual([3, 2, 1]);
    expect(reads.size).toBe(0);
  });

  it("flush turns every replay waiting into a miss: those waiting for a read, and those in one", async () => {
    const { calls, reads } = engine(1);
    const reading = reads.slice("a", "e", 0, 5);
    const lined = reads.slice("b", "e", 0, 5);
    await settle();
    const next = reads.slice("a", "e", 0, 5);
    reads.flush();
    expect(await Promise.all([reading, lined, next])).toEqual([undefined, undefined, undefined]);
    expect(reads.size).toBe(0);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.answer({ entries: entries("a", [1]), complete: true, head: 1, floor: 0 });
    await settle();
    expect(calls).toHaveLength(1);
    expect(reads.reads).toBe(1);
  });
});

describe("sharedReplay", () => {
  it("merges a replay's topics into the global order, up to the lowest seq every topic was read to", async () => {
    const { calls, reads } = engine();
    const replay = sharedReplay(reads, ["a", "b", "a"], "e", 2, 10);
    await settle();
    expect(calls.map((call) => call.topic)).toEqual(["a", "b"]);
    calls[0]!.answer({ entries: entries("a", [3, 6]), complete: true, head: 7, floor: 0 });
    // b was read later: its 9 is past a's read, so it comes live instead.
    calls[1]!.answer({
      entries: [...entries("b", [4]), { seq: 5, value: undefined }, ...entries("b", [9])],
      complete: true,
      head: 9,
      floor: 0,
    });
    expect((await replay)?.map((event) => event.label)).toEqual(["a@3", "b@4", "a@6"]);
  });

  it("a miss on one topic is a miss at once, the other topic's wait left", async () => {
    const { calls, reads } = engine();
    const replay = sharedReplay(reads, ["a", "b"], "e", 2, 10);
    await settle();
    calls[0]!.answer({ entries: [], complete: true, head: 1, floor: 0 });
    expect(await replay).toBeUndefined();
    expect(calls[1]!.signal.aborted).toBe(true);
    expect(reads.size).toBe(0);
  });
});
