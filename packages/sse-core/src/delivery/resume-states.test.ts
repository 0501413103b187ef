import { describe, expect, it } from "vitest";
import { type Frame, frameOf } from "../wire/frame.js";
import type { Client } from "./client.js";
import { Delivery } from "./live-queue.js";
import { type HistorySource, Resume } from "./resume.js";

const at = (seq: number): Frame => frameOf("t", { type: "t", data: String(seq) }, seq);
const seqs = (frames: Frame[]): number[] => frames.map((frame) => frame.seq);
const client = { topics: ["t"] } as unknown as Client;

describe("Resume from a backplane", () => {
  it("holds live events until the replay arrives, then writes the replay and the held events after it, without the overlap", () => {
    const resume = Resume.awaiting(10);
    const out: Frame[] = [];
    for (const seq of [4, 5, 6]) expect(resume.offer(at(seq))).toBe(Delivery.Queued);
    // Published here while the backplane was down: no seq, always kept.
    expect(resume.offer(at(0))).toBe(Delivery.Queued);
    expect(resume.read(64, out)).toBe(false);
    expect(out).toEqual([]);
    expect(resume.feed([at(3), at(4), at(5)], 2)).toBe(true);
    expect(resume.feed([at(9)], 2)).toBe(false);
    expect(resume.replaying).toBe(true);
    expect(resume.offer(at(7))).toBe(Delivery.Queued);
    expect(resume.read(2, out)).toBe(false);
    expect(resume.read(64, out)).toBe(true);
    expect(seqs(out)).toEqual([3, 4, 5, 6, 0, 7]);
  });

  it("drops live events past its room, and held duplicates give their room back", () => {
    const resume = Resume.awaiting(2);
    expect(resume.offer(at(4))).toBe(Delivery.Queued);
    expect(resume.offer(at(5))).toBe(Delivery.Queued);
    expect(resume.offer(at(6))).toBe(Delivery.Dropped);
    resume.feed([at(4), at(5)], 3);
    expect(resume.offer(at(7))).toBe(Delivery.Queued);
    expect(resume.offer(at(8))).toBe(Delivery.Queued);
    expect(resume.offer(at(9))).toBe(Delivery.Dropped);
    const out: Frame[] = [];
    expect(resume.read(64, out)).toBe(true);
    expect(seqs(out)).toEqual([4, 5, 7, 8]);
  });
});

describe("Resume from local history", () => {
  it("reads history batch by batch after the cursor, tells of a gap once, and is caught up on an empty batch", () => {
    const log = [at(2), at(3), at(4), at(5), at(6)];
    const missed: Client[] = [];
    const source: HistorySource = {
      after: (_topics, cursor, limit) => ({
        frames: log.filter((frame) => frame.seq > cursor).slice(0, limit),
        gap: true,
      }),
      gap: (who) => {
        missed.push(who);
        return { repaired: [], tell: frameOf("", { type: "reload", data: "" }, 0) };
      },
    };
    const resume = Resume.fromHistory(source, client, 3);
    // Live events stay in history: nothing is held for them.
    expect(resume.offer(at(7))).toBe(Delivery.Queued);
    const out: Frame[] = [];
    expect(resume.read(2, out)).toBe(false);
    expect(resume.read(2, out)).toBe(false);
    expect(resume.read(2, out)).toBe(true);
    expect(out.map((frame) => frame.event.type)).toEqual(["reload", "t", "t", "t"]);
    expect(seqs(out)).toEqual([0, 4, 5, 6]);
    expect(missed).toEqual([client]);
  });
});
