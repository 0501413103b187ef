// BackplaneResumes with clients leaving at each await of a resume (its topics'
// SUBSCRIBE answered, the storm hold, the shared read, the barrier): the
// leaving replay settles as a miss at once, the others sharing its steps get
// theirs, and nothing is kept (resumes, reads, the hold, the queue, timers);
// hundreds leaving in one tick the same, without an unhandled rejection; and
// last() whose caller leaves while the engine hangs: undefined at once, no
// timer kept, nothing read after. A fake engine answers each step when told;
// the storm hold runs on a fake clock.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BackplaneEvent } from "./backplane.js";
import { BackplaneResumes } from "./backplane-resumes.js";
import { formatEventId } from "./event-id.js";
import { ReplayQueue } from "./replay-queue.js";
import { SharedReads, type TopicRange } from "./shared-reads.js";
import { StormHold } from "./storm-hold.js";

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeEach(() => {
  rejections.length = 0;
  process.on("unhandledRejection", onRejection);
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
  process.off("unhandledRejection", onRejection);
});

/** Resumes on an engine whose every step waits until the test answers it. */
function gatedEngine() {
  const hold = new StormHold({ burst: 4, windowMs: 10, maxHoldMs: 60_000, now: () => Date.now() });
  const queue = new ReplayQueue(4);
  const answers: (() => void)[] = [];
  const calls: { signal: AbortSignal; answer(range: TopicRange<BackplaneEvent>): void }[] = [];
  const barriers: ((answered: boolean) => void)[] = [];
  const readsLast: string[] = [];
  const reads = new SharedReads<BackplaneEvent>(
    (_topic, _epoch, _after, _count, signal) =>
      new Promise((answer) => {
        calls.push({ signal, answer });
        signal.addEventListener("abort", () => answer(undefined));
      }),
    queue,
    () => {},
    () => 0,
    hold,
  );
  const resumes = new BackplaneResumes<BackplaneEvent>({
    reads,
    limit: { current: 4 },
    timeoutMs: 60_000,
    ready: () => true,
    synced: () => true,
    answered: () => new Promise((resolve) => answers.push(() => resolve(true))),
    barrier: () => new Promise((answer) => barriers.push(answer)),
    readLast: async (topic) => {
      readsLast.push(topic);
      return event(9);
    },
  });
  const turn = () => vi.advanceTimersByTimeAsync(0);
  return {
    resumes,
    hold,
    calls,
    barriers,
    readsLast,
    /** A burst of resumes of other topics: a storm under way. */
    burst: () => {
      for (let i = 0; i < 4; i++) hold.arrive();
    },
    /** Answers every SUBSCRIBE waited for, then lets the resumes go on. */
    answerAll: async () => {
      for (const answer of answers.splice(0)) answer();
      await turn();
    },
    /** Answers every read running with `t`'s events 1, 2, 3. */
    readAll: async () => {
      const entries = [1, 2, 3].map((seq) => ({ seq, value: event(seq) }));
      for (const call of calls) call.answer({ entries, complete: true, head: 3, floor: 0 });
      await turn();
    },
    /** Answers every barrier sent. */
    barrierAll: async () => {
      for (const answer of barriers.splice(0)) answer(true);
      await turn();
    },
    /** What must be empty once every resume settled. */
    kept: () => ({
      resumes: resumes.size,
      reads: reads.size,
      held: hold.size,
      queue: queue.size,
      timers: vi.getTimerCount(),
    }),
    turn,
  };
}

const event = (seq: number): BackplaneEvent => ({ topic: "t", seq, event: { data: `t@${seq}` } });
const idOf = (seq: number) => formatEventId("e", seq);
const none = { resumes: 0, reads: 0, held: 0, queue: 0, timers: 0 };

/** Whether `promise` settled yet, and its value. */
function settled<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T } = { done: false };
  void promise.then((value) => Object.assign(state, { done: true, value }));
  return state;
}

const STEPS = ["answered", "hold", "read", "barrier"] as const;

describe("a client leaving at each step of its resume", () => {
  it.each(STEPS)(
    "leaving at %s: a miss at once; the resume beside it gets its events once; nothing kept",
    async (step) => {
      const e = gatedEngine();
      if (step === "hold") e.burst();
      const left = new AbortController();
      const gone = settled(e.resumes.replay(["t"], idOf(0), 10, left.signal));
      const staying = e.resumes.replay(["t"], idOf(1), 10);
      if (step !== "answered") await e.answerAll();
      if (step === "hold") expect(e.hold.size).toBe(1);
      if (step === "read" || step === "barrier") expect(e.calls).toHaveLength(1);
      if (step === "barrier") {
        await e.readAll();
        expect(e.barriers).toHaveLength(1);
      }
      expect(gone.done).toBe(false);

      left.abort();
      await e.turn();
      expect(gone).toEqual({ done: true, value: undefined });

      // The engine goes on: the storm passes, the read and the barrier are answered.
      await e.answerAll();
      await vi.advanceTimersByTimeAsync(10);
      await e.readAll();
      await e.barrierAll();
      expect(await staying).toEqual({ after: 1, events: [event(2), event(3)] });
      expect(e.calls).toHaveLength(1);
      expect(e.kept()).toEqual(none);
      expect(rejections).toEqual([]);
    },
  );
});

describe("hundreds of resumes in one synchronous loop, all leaving in one tick", () => {
  it.each(["answered", "hold", "barrier"] as const)(
    "300 replays of 50 topics leaving at %s: every one a miss, nothing kept, no unhandled rejection",
    async (step) => {
      const e = gatedEngine();
      const clients = Array.from({ length: 300 }, (_, i) => {
        const left = new AbortController();
        const replay = e.resumes.replay([`t${i % 50}`], idOf(0), 10, left.signal);
        return { replay, leave: () => left.abort() };
      });
      if (step !== "answered") await e.answerAll();
      // A storm: the first topics' reads run, the others are held.
      if (step === "hold") expect(e.hold.size).toBeGreaterThan(40);
      if (step === "barrier") {
        for (let look = 0; look < 50 && e.kept().reads > 0; look++) {
          await e.readAll();
          await vi.advanceTimersByTimeAsync(10);
        }
        expect({ reads: e.kept().reads, resumes: e.resumes.size }).toEqual({
          reads: 0,
          resumes: 300,
        });
        expect(e.barriers.length).toBeGreaterThan(0);
      }
      const states = clients.map((client) => settled(client.replay));
      for (const client of clients) client.leave();
      await e.turn();
      expect(states.filter((state) => !state.done || state.value !== undefined)).toEqual([]);
      // Nothing was read for a topic whose every client left before its read ended.
      if (step !== "barrier") expect(e.calls.filter((call) => !call.signal.aborted)).toEqual([]);
      await e.answerAll();
      await e.barrierAll();
      expect(e.kept()).toEqual(none);
      expect(rejections).toEqual([]);
    },
  );
});

describe("last() with its caller leaving while the engine hangs", () => {
  it.each(["answered", "barrier"] as const)(
    "leaving at %s: undefined at once, no timer kept, nothing read or waited for after",
    async (step) => {
      const e = gatedEngine();
      const left = new AbortController();
      // The engine's timeoutMs (a minute) never passes here: only the leaving can settle it.
      const last = settled(e.resumes.last("t", 10, left.signal));
      await e.turn();
      if (step === "barrier") await e.answerAll();
      expect({ read: e.readsLast, barriers: e.barriers.length }).toEqual(
        step === "barrier" ? { read: ["t"], barriers: 1 } : { read: [], barriers: 0 },
      );
      expect(last.done).toBe(false);

      left.abort();
      await e.turn();
      expect(last).toEqual({ done: true, value: undefined });
      expect(e.kept()).toEqual(none);
      // The engine answers at last: nothing more is read for the caller that left.
      await e.answerAll();
      await e.barrierAll();
      expect(e.readsLast).toEqual(step === "barrier" ? ["t"] : []);
      expect(rejections).toEqual([]);
    },
  );

  it("a caller that left before the call: undefined, and the engine is asked nothing", async () => {
    const e = gatedEngine();
    const left = new AbortController();
    left.abort();
    const last = settled(e.resumes.last("t", 10, left.signal));
    await e.turn();
    expect(last).toEqual({ done: true, value: undefined });
    expect(e.kept()).toEqual(none);
    await e.answerAll();
    expect({ readsLast: e.readsLast, barriers: e.barriers }).toEqual({
      readsLast: [],
      barriers: [],
    });
  });

  it("nobody leaving: the event read, after its barrier", async () => {
    const e = gatedEngine();
    const last = settled(e.resumes.last("t", 10, new AbortController().signal));
    await e.answerAll();
    expect(last.done).toBe(false);
    await e.barrierAll();
    expect(last).toEqual({ done: true, value: event(9) });
    expect(e.kept()).toEqual(none);
  });
});
