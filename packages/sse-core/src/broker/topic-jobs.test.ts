import { describe, expect, it } from "vitest";
import type { RepairTarget } from "../delivery/repairs.js";
import type { RepairReason } from "../wire/topic-policy.js";
import { TopicJobs, type TopicLine } from "./topic-jobs.js";

const client = (name: string) => ({ name }) as unknown as RepairTarget;
const names = (clients: Map<RepairTarget, RepairReason>) =>
  [...clients.keys()].map((c) => (c as unknown as { name: string }).name);
const line = (): TopicLine => ({ waiting: new Map(), busy: false });

describe("TopicJobs", () => {
  it("runs one job per topic at a time, for every client that asked in the tick it started", async () => {
    const started: string[][] = [];
    let finish: () => void = () => {};
    const jobs: TopicJobs<TopicLine> = new TopicJobs((topic, current, clients) => {
      started.push([topic, ...names(clients)]);
      finish = () => jobs.ended(topic, current);
    });
    jobs.join("t", client("a"), "miss", line);
    jobs.join("t", client("b"), "overflow", line);
    jobs.join("u", client("c"), "miss", line);
    expect(started).toEqual([]);
    await Promise.resolve();
    expect(started).toEqual([
      ["t", "a", "b"],
      ["u", "c"],
    ]);
    // A client asking while t's job runs waits for the next one.
    jobs.join("t", client("d"), "miss", line);
    await Promise.resolve();
    expect(started).toHaveLength(2);
    finish(); // u's job ends: nobody waits, its line is forgotten
    expect(jobs.get("u")).toBeUndefined();
    expect(jobs.size).toBe(1);
  });

  it("starts the next job when one ends with clients waiting; forgets the line when none do", async () => {
    const started: string[][] = [];
    const ends: (() => void)[] = [];
    const jobs: TopicJobs<TopicLine> = new TopicJobs((topic, current, clients) => {
      started.push(names(clients));
      ends.push(() => jobs.ended(topic, current));
    });
    jobs.join("t", client("a"), "miss", line);
    await Promise.resolve();
    jobs.join("t", client("b"), "miss", line);
    ends.shift()!();
    await Promise.resolve();
    expect(started).toEqual([["a"], ["b"]]);
    ends.shift()!();
    expect(jobs.get("t")).toBeUndefined();
    expect(jobs.size).toBe(0);
  });
});
