// The bookkeeping that backplanes share for presence (mergePresence,
// SharedPresence), against an engine kept in memory: what sse-redis and
// sse-postgres do on their engines, without one.
import { afterEach, describe, expect, it } from "vitest";
import { mergePresence, type PresenceHost, type PresenceRow, SharedPresence } from "../adapter.js";
import type { PresenceMember } from "../index.js";

describe("mergePresence", () => {
  it("merges rows by id, sums connections, keeps the first data, skips `except` and rows not written by a broker", () => {
    const rows: PresenceRow[] = [
      ["p1", JSON.stringify([{ id: "alice", data: { n: 1 }, connections: 2 }])],
      ["p2", JSON.stringify([{ id: "alice", data: { n: 2 }, connections: 1 }, { id: "bob" }])],
      ["p3", "not json"],
      ["p4", JSON.stringify({ id: "not a list" })],
      ["p5", JSON.stringify([{ id: 7 }, null])],
    ];
    expect([...mergePresence(rows).values()]).toEqual([
      { id: "alice", data: { n: 1 }, connections: 3 },
      { id: "bob", data: undefined, connections: 0 },
    ]);
    expect([...mergePresence(rows, "p1").keys()]).toEqual(["alice", "bob"]);
    expect(mergePresence(rows, "p1").get("alice")?.connections).toBe(1);
  });
});

/** Presence on an engine in memory: rows per topic and owner, expiries set by the test. */
class MemoryPresence extends SharedPresence {
  ready = 0;
  reachable = true;
  constructor(
    host: PresenceHost,
    ttlMs: number,
    readonly owner = "me",
    readonly rows = new Map<string, Map<string, string>>(),
    readonly alive = new Map<string, boolean>(),
  ) {
    super(host, ttlMs);
  }
  close(): void {
    this.stop();
  }
  readySince(): number {
    return this.ready;
  }
  async write(topic: string, json: string) {
    if (!this.reachable) return undefined;
    const known = this.alive.get(this.owner) === true;
    this.alive.set(this.owner, true);
    const rows = this.rows.get(topic) ?? new Map<string, string>();
    this.rows.set(topic, rows);
    if (json === "[]") rows.delete(this.owner);
    else rows.set(this.owner, json);
    return { known, rows: (await this.read(topic)) ?? [] };
  }
  async read(topic: string): Promise<PresenceRow[] | undefined> {
    if (!this.reachable) return undefined;
    return [...(this.rows.get(topic) ?? [])].filter(([owner]) => this.alive.get(owner));
  }
  async sweep() {
    const removed: [string, string][] = [];
    for (const [owner, alive] of this.alive) {
      if (alive || owner === this.owner) continue;
      for (const [topic, rows] of this.rows) {
        const json = rows.get(owner);
        if (json === undefined) continue;
        rows.delete(owner);
        removed.push([topic, json]);
      }
      this.alive.delete(owner);
    }
    return removed;
  }
}

describe("SharedPresence", () => {
  const opened: MemoryPresence[] = [];
  afterEach(() => {
    for (const presence of opened.splice(0)) presence.close();
  });

  function setup(local: Map<string, PresenceMember[]>) {
    const events: string[] = [];
    const host: PresenceHost = {
      local: () => local,
      left: (topic, left, members) =>
        events.push(`${topic} -${left.map((m) => m.id)} =${members.map((m) => m.id)}`),
      joined: (topic, joined, members) =>
        events.push(`${topic} +${joined.map((m) => m.id)} =${members.map((m) => m.id)}`),
    };
    const presence = new MemoryPresence(host, 60_000);
    opened.push(presence);
    return { events, engine: presence, presence };
  }

  const alice = { id: "alice", data: undefined, connections: 1 };
  const bob = { id: "bob", data: undefined, connections: 1 };

  it("sweeps a dead process only once the link has been usable for a whole TTL, announcing who left", async () => {
    const { events, engine, presence } = setup(new Map([["room", [alice]]]));
    engine.rows.set("room", new Map([["other", JSON.stringify([bob, alice])]]));
    engine.alive.set("other", true);
    expect(await presence.sync("room", [alice], "alice")).toEqual({
      elsewhere: true,
      members: [bob, { ...alice, connections: 2 }],
    });
    engine.alive.set("other", false); // its expiry passed
    engine.ready = Date.now(); // usable just now: not a TTL yet
    await presence.beat();
    expect(presence.sweeps).toBe(0);
    expect(engine.rows.get("room")?.has("other")).toBe(true);
    engine.ready = Date.now() - 60_000;
    await presence.beat();
    expect(presence.sweeps).toBe(1);
    expect(events).toEqual(["room -bob =alice"]);
    expect(engine.rows.get("room")?.has("other")).toBe(false);
  });

  it("announces its members again when it had been swept, and only then", async () => {
    const { events, engine, presence } = setup(new Map([["room", [alice]]]));
    await presence.sync("room", [alice], "alice"); // her join, written
    await presence.beat(); // known: nothing to announce
    expect(events).toEqual([]);
    engine.alive.delete("me"); // swept by another process while cut off
    await presence.beat();
    expect(events).toEqual(["room +alice =alice"]);
    await presence.beat(); // known again: once only
    expect(events).toEqual(["room +alice =alice"]);
  });

  it("of two processes where several members join at once, exactly one announces each", async () => {
    const { presence: a } = setup(new Map());
    const b = new MemoryPresence(a as unknown as PresenceHost, 60_000, "b", a.rows, a.alive);
    opened.push(b);
    const both = [alice, bob];
    // Each process has both members locally, and syncs each one's join (the broker's calls).
    const answers = await Promise.all([
      a.sync("room", both, "alice"),
      b.sync("room", both, "alice"),
      a.sync("room", both, "bob"),
      b.sync("room", both, "bob"),
    ]);
    expect(answers.map((answer) => answer?.elsewhere)).toEqual([false, true, false, true]);
    // Leaving at once too: exactly one sees each member gone.
    const left = await Promise.all([
      a.sync("room", [bob], "alice"),
      b.sync("room", [bob], "alice"),
      a.sync("room", [], "bob"),
      b.sync("room", [], "bob"),
    ]);
    expect(left.map((answer) => answer?.elsewhere)).toEqual([true, false, true, false]);
    expect(a.rows.get("room")?.size).toBe(0);
  });

  it("a heartbeat does not write a member whose join is still queued", async () => {
    const local = new Map([["room", [alice]]]);
    const { presence: a } = setup(local);
    const b = new MemoryPresence(a as unknown as PresenceHost, 60_000, "b", a.rows, a.alive);
    opened.push(b);
    // alice joined on a (in its local members, her sync not run yet) when its heartbeat runs.
    const beat = a.beat();
    const onB = b.sync("room", [alice], "alice");
    const onA = a.sync("room", [alice], "alice");
    await beat;
    expect([(await onB)?.elsewhere, (await onA)?.elsewhere]).toEqual([false, true]);
  });

  it("resolves undefined while the engine is unreachable", async () => {
    const { engine, presence } = setup(new Map());
    engine.reachable = false;
    expect(await presence.sync("room", [alice], "alice")).toBeUndefined();
    expect(await presence.members("room")).toBeUndefined();
  });
});
