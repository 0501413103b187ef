// BackplaneResumes: replays read once their topics are answered, through
// shared reads, and end after a shared barrier (one per barrier group); a
// miss whenever a step fails; last() the same, through the same barriers. A
// fake engine holds each topic's events and answers when told.
import { describe, expect, it } from "vitest";
import type { BackplaneEvent } from "./backplane.js";
import { BackplaneResumes, type ResumeEngine } from "./backplane-resumes.js";
import { formatEventId } from "./event-id.js";
import { ReplayQueue } from "./replay-queue.js";
import { SharedReads } from "./shared-reads.js";

const EPOCH = "e1";

/** `topic`'s event at `seq`. */
function stored(topic: string, seq: number): BackplaneEvent {
  return { topic, seq, event: { data: `${topic}@${seq}` } };
}

/** A fake engine: topics hold events at the seqs given; answers and barriers wait until told. */
function engine(
  history: Record<string, number[]>,
  overrides: Partial<ResumeEngine<BackplaneEvent>> = {},
) {
  const answers: (() => void)[] = [];
  const barriers: { topics: readonly string[]; answer(answered: boolean): void }[] = [];
  const state = { ready: true, synced: true, readsAsked: [] as string[] };
  const reads = new SharedReads<BackplaneEvent>(async (topic, epoch, after, count) => {
    state.readsAsked.push(topic);
    if (epoch !== EPOCH) return undefined;
    const seqs = (history[topic] ?? []).filter((seq) => seq > after);
    const entries = seqs.slice(0, count).map((seq) => ({ seq, value: stored(topic, seq) }));
    return { entries, complete: seqs.length < count, head: 100, floor: 0 };
  }, new ReplayQueue(4));
  const pieces: ResumeEngine<BackplaneEvent> = {
    reads,
    limit: { current: 4 },
    timeoutMs: 1_000,
    ready: () => state.ready,
    synced: () => state.synced,
    answered: () => new Promise((resolve) => answers.push(() => resolve(true))),
    barrier: (topics) => new Promise((answer) => barriers.push({ topics, answer })),
    readLast: async (topic) => {
      const seqs = history[topic] ?? [];
      return seqs.length === 0 ? undefined : stored(topic, seqs[seqs.length - 1]!);
    },
    ...overrides,
  };
  const resumes = new BackplaneResumes(pieces);
  const answerAll = () => {
    for (const answer of answers.splice(0)) answer();
  };
  return { resumes, state, answers, answerAll, barriers };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const seqsOf = (replay: { events: BackplaneEvent[] } | undefined) =>
  replay?.events.map((e) => e.seq);

describe("BackplaneResumes", () => {
  it("reads once the topics are answered, one read per topic for all, one barrier for all", async () => {
    const { resumes, state, answerAll, barriers } = engine({ a: [1, 3, 5], b: [2, 4] });
    const replays = [0, 1, 3].map((after) =>
      resumes.replay(["a", "b"], formatEventId(EPOCH, after), 10),
    );
    await settle();
    expect(state.readsAsked).toEqual([]);
    expect(resumes.size).toBe(3);
    answerAll();
    while (barriers.length === 0) await settle();
    expect(state.readsAsked.sort()).toEqual(["a", "b"]);
    expect(resumes.reads).toBe(2);
    expect(barriers).toHaveLength(1);
    barriers[0]!.answer(true);
    const got = await Promise.all(replays);
    expect(got.map(seqsOf)).toEqual([
      [1, 2, 3, 4, 5],
      [2, 3, 4, 5],
      [4, 5],
    ]);
    expect(got.map((replay) => replay?.after)).toEqual([0, 1, 3]);
    expect(resumes.counters()).toEqual({
      replays: 0,
      replaysSkipped: 0,
      replayReads: 2,
      replayLimit: 4,
    });
  });

  it("sends one barrier per barrier group, for that group's topics", async () => {
    const { resumes, answerAll, barriers } = engine(
      { x: [1], y: [2] },
      { barrierGroup: (topics) => topics[0]! },
    );
    const replays = ["x", "y", "x"].map((topic) =>
      resumes.replay([topic], formatEventId(EPOCH, 0), 10),
    );
    await settle();
    answerAll();
    while (barriers.length < 2) await settle();
    await settle();
    expect(barriers.map((barrier) => barrier.topics)).toEqual([["x"], ["y"]]);
    barriers[0]!.answer(true);
    barriers[1]!.answer(false);
    expect((await Promise.all(replays)).map(seqsOf)).toEqual([[1], undefined, [1]]);
  });

  it("is a miss, never a rejection, when a step fails", async () => {
    const notOurs = engine({ a: [1] });
    expect(await notOurs.resumes.replay(["a"], "not-an-id", 10)).toBeUndefined();
    expect(await notOurs.resumes.replay(["a"], formatEventId(EPOCH, 0), 0)).toBeUndefined();
    notOurs.state.ready = false;
    expect(await notOurs.resumes.replay(["a"], formatEventId(EPOCH, 0), 10)).toBeUndefined();

    const late = engine({ a: [1] }, { answered: async () => false });
    expect(await late.resumes.replay(["a"], formatEventId(EPOCH, 0), 10)).toBeUndefined();
    const failed = engine(
      { a: [1] },
      { answered: () => Promise.reject(new Error("LISTEN failed")) },
    );
    expect(await failed.resumes.replay(["a"], formatEventId(EPOCH, 0), 10)).toBeUndefined();

    const cut = engine({ a: [1] });
    const replay = cut.resumes.replay(["a"], formatEventId(EPOCH, 0), 10);
    await settle();
    cut.state.synced = false; // the connection dropped while the SUBSCRIBE was answered
    cut.answerAll();
    expect(await replay).toBeUndefined();
    expect(cut.state.readsAsked).toEqual([]);

    const otherEpoch = engine({ a: [1] }, { answered: async () => true });
    expect(await otherEpoch.resumes.replay(["a"], formatEventId("e0", 0), 10)).toBeUndefined();
  });

  it("refuses the topics the engine does not accept before waiting for anything", async () => {
    const asked: (readonly string[])[] = [];
    const { resumes, answers } = engine(
      { a: [1], b: [2] },
      {
        accepts: (topics) => {
          asked.push(topics);
          return topics.length === 1;
        },
      },
    );
    expect(await resumes.replay(["a", "b"], formatEventId(EPOCH, 0), 10)).toBeUndefined();
    expect(answers).toHaveLength(0);
    expect(await resumes.replay(["a", "b"], "not-an-id", 10)).toBeUndefined();
    expect(asked).toEqual([["a", "b"]]);
  });

  it("counts a resume whose client left before its read as skipped, and reads nothing for it", async () => {
    const { resumes, state, answerAll } = engine({ a: [1] });
    const left = new AbortController();
    const replay = resumes.replay(["a"], formatEventId(EPOCH, 0), 10, left.signal);
    await settle();
    left.abort();
    answerAll();
    expect(await replay).toBeUndefined();
    expect(resumes.skipped).toBe(1);
    expect(state.readsAsked).toEqual([]);
  });

  it("reads a topic's newest event once answered, and gives it after a barrier sent after the read", async () => {
    const { resumes, answerAll, barriers } = engine({ a: [1, 7] });
    const last = resumes.last("a", 10);
    await settle();
    answerAll();
    while (barriers.length === 0) await settle();
    expect(barriers[0]!.topics).toEqual(["a"]);
    barriers[0]!.answer(true);
    expect((await last)?.seq).toBe(7);

    const unanswered = engine({ a: [1] });
    const noBarrier = unanswered.resumes.last("a", 10);
    await settle();
    unanswered.answerAll();
    while (unanswered.barriers.length === 0) await settle();
    unanswered.barriers[0]!.answer(false);
    expect(await noBarrier).toBeUndefined();
  });

  it("reads no latest event when the link went down while it waited for the topic's answer", async () => {
    // PostgreSQL's link goes down when its publishing side fails while its listening connection
    // stays synced: only the link's state says that the read would go to a database not answering.
    const readsAsked: string[] = [];
    const { resumes, state, answerAll } = engine(
      { a: [1] },
      {
        barrier: async () => true,
        readLast: async (topic) => {
          readsAsked.push(topic);
          return stored(topic, 1);
        },
      },
    );
    const last = resumes.last("a", 10);
    await settle();
    state.ready = false;
    answerAll();
    expect(await last).toBeUndefined();
    expect(readsAsked).toEqual([]);
  });

  it("gives no latest event without history, while not ready or synced, on an error, or past timeoutMs", async () => {
    const ready = { answered: async () => true, barrier: async () => true };
    expect(await engine({ a: [1] }, ready).resumes.last("a", 0)).toBeUndefined();
    const down = engine({ a: [1] }, ready);
    down.state.ready = false;
    expect(await down.resumes.last("a", 10)).toBeUndefined();
    const unsynced = engine({ a: [1] }, ready);
    unsynced.state.synced = false;
    expect(await unsynced.resumes.last("a", 10)).toBeUndefined();
    const failing = engine(
      { a: [1] },
      { ...ready, readLast: () => Promise.reject(new Error("x")) },
    );
    expect(await failing.resumes.last("a", 10)).toBeUndefined();
    const hung = engine(
      { a: [1] },
      { ...ready, timeoutMs: 5, readLast: () => new Promise(() => {}) },
    );
    expect(await hung.resumes.last("a", 10)).toBeUndefined();
    expect((await engine({ a: [1] }, ready).resumes.last("a", 10))?.seq).toBe(1);
  });
});
