import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  uniquePrefix as uniqueTablePrefix,
} from "@burrow/test-utils/postgres";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "@burrow/test-utils/redis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "./shared/memory-store.js";
import { PostgresStore } from "./shared/postgres-store.js";
import { RedisStore } from "./shared/redis-store.js";
import { MAX_NOTES, PROJECTS, type Store } from "./shared/store.js";

// The demo's stores, each held to the same contract: what the pages render,
// the snapshots read and the forms change. Redis's and PostgreSQL's are
// shared: a second demo on the same prefix reads and changes the same state.

/** How a kind of store is opened for a test. */
interface Stores {
  /** A new, empty store of its own. */
  open(): Promise<Store>;
  /** Another store on the state of `store`, as a second demo on the same backplane opens it. */
  share?(store: Store): Promise<Store>;
}

function describeStore(stores: Stores): void {
  const opened: Store[] = [];
  const store = async (shareWith?: Store) => {
    const one = shareWith === undefined ? await stores.open() : await stores.share!(shareWith);
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

  if (stores.share !== undefined) {
    it("is one state for every demo on it: notes, status, badges and job numbers", async () => {
      const a = await store();
      const other = await store(a);
      await a.addNote("on a");
      const added = await other.addNote("on b");
      expect((await a.notes()).map((note) => note.title)).toEqual(["on a", "on b"]);
      expect((await other.notes()).map((note) => note.id)).toEqual([
        (await a.notes())[0]?.id,
        added.note.id,
      ]);
      await other.setStatus("set on b");
      expect(await a.status()).toBe("set on b");
      await a.updateProject("42", "Testing", "warn");
      expect(await other.updateProject("42", "Shipped", "ok")).toMatchObject({ revision: 3 });
      expect(await a.project("42")).toMatchObject({ status: "Shipped", revision: 3 });
      const jobs = [await a.nextJobId(), await other.nextJobId(), await a.nextJobId()];
      expect(new Set(jobs).size).toBe(3);
    });
  }
}

describe("MemoryStore", () => {
  describeStore({ open: async () => new MemoryStore() });
});

describeRedis("RedisStore (REDIS_URL)", () => {
  const prefixes = new Map<Store, string>();
  afterAll(async () => {
    for (const prefix of new Set(prefixes.values())) await deleteKeys(prefix);
  });
  const on = (prefix: string) => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    prefixes.set(store, prefix);
    return store;
  };
  describeStore({
    open: async () => on(uniquePrefix()),
    share: async (store) => on(prefixes.get(store)!),
  });
});

describePostgres("PostgresStore (--database-url)", () => {
  const prefixes = new Map<Store, string>();
  afterAll(async () => {
    for (const prefix of new Set(prefixes.values())) await dropPrefix(prefix);
  });
  const on = async (prefix: string) => {
    const store = new PostgresStore({ connectionString: DATABASE_URL, prefix });
    prefixes.set(store, prefix);
    return store;
  };
  describeStore({
    open: () => on(uniqueTablePrefix()),
    share: (store) => on(prefixes.get(store)!),
  });
});
