import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "./shared/memory-store.js";
import { MAX_NOTES, PROJECTS, type Store } from "./shared/store.js";

// The demo's stores, each held to the same contract: what the pages render,
// the snapshots read and the forms change.

/** The contract every store keeps; `open()` gives a new, empty one. */
function describeStore(open: () => Promise<Store>): void {
  const opened: Store[] = [];
  const store = async () => {
    const one = await open();
    opened.push(one);
    return one;
  };
  afterEach(async () => {
    for (const one of opened.splice(0)) await one.close();
  });

  it("keeps notes oldest first, each with a new id and its time", async () => {
    const s = await store();
    expect(await s.notes()).toEqual([]);
    const before = Date.now();
    const first = await s.addNote("first");
    const second = await s.addNote('<b title="x">second</b>');
    expect(second.note.id).toBeGreaterThan(first.note.id);
    expect(first.dropped).toEqual([]);
    const notes = await s.notes();
    expect(notes.map((note) => note.title)).toEqual(["first", '<b title="x">second</b>']);
    expect(notes.map((note) => note.id)).toEqual([first.note.id, second.note.id]);
    expect(notes[0]?.createdAt).toBeInstanceOf(Date);
    expect(notes[0]?.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it(`keeps the last ${MAX_NOTES} notes, and says which one each new note pushed out`, async () => {
    const s = await store();
    const added = [];
    for (let i = 1; i <= MAX_NOTES + 2; i++) added.push(await s.addNote(`note ${i}`));
    const ids = added.map((one) => one.note.id);
    expect(added.at(-2)?.dropped).toEqual([ids[0]]);
    expect(added.at(-1)?.dropped).toEqual([ids[1]]);
    const notes = await s.notes();
    expect(notes).toHaveLength(MAX_NOTES);
    expect(notes[0]?.title).toBe("note 3");
    expect(notes.at(-1)?.title).toBe(`note ${MAX_NOTES + 2}`);
  });

  it("reads the notes as of the call: a note added after it is not in what it gives", async () => {
    const s = await store();
    await s.addNote("before");
    const read = s.notes();
    await s.addNote("after");
    expect((await read).map((note) => note.title)).toEqual(["before"]);
  });

  it("has no team status until one is set, then the latest", async () => {
    const s = await store();
    expect(await s.status()).toBeUndefined();
    await s.setStatus("Deploying");
    await s.setStatus("Deployed");
    expect(await s.status()).toBe("Deployed");
  });

  it("starts every project at its initial badge, and bumps the revision on each update", async () => {
    const s = await store();
    const initial = PROJECTS.map(({ initial, ...info }) => ({ ...info, ...initial }));
    expect(await s.projects()).toEqual(initial);
    expect(await s.project("42")).toEqual(initial[0]);
    expect(await s.project("41")).toBeUndefined();
    expect(await s.updateProject("41", "x", "ok")).toBeUndefined();
    await s.updateProject("42", "Testing", "warn");
    const updated = await s.updateProject("42", "Shipped", "stop");
    expect(updated).toEqual({ ...initial[0], status: "Shipped", tone: "stop", revision: 3 });
    expect(await s.project("42")).toEqual(updated);
    expect(await s.project("43")).toEqual(initial[1]);
  });

  it("numbers jobs without repeating a number", async () => {
    const s = await store();
    const ids = [await s.nextJobId(), await s.nextJobId(), await s.nextJobId()];
    expect(new Set(ids).size).toBe(3);
  });
}

describe("MemoryStore", () => {
  describeStore(async () => new MemoryStore());
});
