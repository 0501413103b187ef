import { setImmediate as nextTurn } from "node:timers/promises";
import { cleanupAfterEach, listen, thrownBy } from "@burrow/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type Client,
  EventBroker,
  handlerFunc,
  type PresenceChange,
  type SSEEvent,
  SSEOptionError,
} from "../index.js";

const cleanups = cleanupAfterEach();
afterEach(() => {
  vi.useRealTimers();
});

/** The README's render: the whole member list, on every change. */
const list = ({ members }: PresenceChange): string =>
  `<ul>${members.map((m) => `<li>${m.id}</li>`).join("")}</ul>`;

function brokerWith(options: ConstructorParameters<typeof EventBroker>[0] & object) {
  const broker = new EventBroker(options);
  cleanups.push(() => broker.close());
  return broker;
}

/** Every event `client` has queued now (it is not read until then). */
async function queued(client: Client): Promise<SSEEvent[]> {
  const out: SSEEvent[] = [];
  const it = client[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([it.next(), nextTurn(undefined).then(() => "idle" as const)]);
    if (next === "idle" || next.done) return out;
    out.push(next.value);
  }
}

/** Members `ids` join `room` of `broker`, each in a tick of its own. */
async function joinOneByOne(broker: EventBroker, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    broker.subscribe("room", { member: { id } });
    await nextTurn(undefined);
  }
}

describe("presence: renders coalesced (issue #25: 2,000 joins rendered 2,000 lists)", () => {
  it("2,000 members joining in separate ticks render the list about once per renderIntervalMs, ending at all of them", async () => {
    // Only the cooldown's clock is faked: microtasks and setImmediate (the separate ticks) stay real.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const render = vi.fn(list);
    const broker = brokerWith({ presence: { render, renderIntervalMs: 250 } });
    const watcher = broker.subscribe("presence:room");
    const joins = 2000;
    for (let i = 0; i < joins; i++) {
      broker.subscribe("room", { member: { id: `m${i}` } });
      await nextTurn(undefined);
      vi.advanceTimersByTime(1);
    }
    await vi.advanceTimersByTimeAsync(250); // the trailing render
    // One leading render, then one per 250 ms of the 2,000 ms of joins (2,000 renders before).
    expect(render.mock.calls.length).toBeLessThanOrEqual(joins / 250 + 2);
    const last = render.mock.calls.at(-1)![0];
    expect(last.members).toHaveLength(joins);
    const joinedInAll = render.mock.calls.flatMap(([change]) => change.joined.map((m) => m.id));
    expect(new Set(joinedInAll).size).toBe(joins); // each join said once
    expect(joinedInAll).toHaveLength(joins);
    vi.useRealTimers();
    // The watcher never read: it holds one list, the latest (state topic, conflated).
    const got = await queued(watcher);
    expect(got.map((e) => e.data)).toEqual([list(last)]);
    expect(broker.stats()).toMatchObject({ dropped: 0 });
  });

  it("coalesces leaves too: every member leaving in separate ticks renders a bounded number of lists, ending empty", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const render = vi.fn(list);
    const broker = brokerWith({ presence: { render, renderIntervalMs: 100, debounceMs: 0 } });
    const members = Array.from({ length: 500 }, (_, i) =>
      broker.subscribe("room", { member: { id: `m${i}` } }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(render).toHaveBeenCalledTimes(1); // one tick's joins: one render
    render.mockClear();
    for (const member of members) {
      broker.unsubscribe(member);
      await vi.advanceTimersByTimeAsync(1); // the leave's debounce (0), then a millisecond
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(render.mock.calls.length).toBeLessThanOrEqual(500 / 100 + 2);
    expect(render.mock.calls.flatMap(([change]) => change.left)).toHaveLength(500);
    expect(render.mock.calls.at(-1)![0].members).toEqual([]);
    expect(await broker.members("room")).toEqual([]);
  });

  it("renders the first change after a quiet spell at once, and says nothing of a member that came and went between renders", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const render = vi.fn(list);
    const broker = brokerWith({ presence: { render, renderIntervalMs: 1000, debounceMs: 0 } });
    broker.subscribe("room", { member: { id: "alice" } });
    await nextTurn(undefined);
    expect(render).toHaveBeenCalledTimes(1); // leading: not held for the interval
    const bob = broker.subscribe("room", { member: { id: "bob" } });
    await nextTurn(undefined);
    broker.unsubscribe(bob);
    await vi.advanceTimersByTimeAsync(0); // bob's leave (debounce 0), inside the interval
    broker.subscribe("room", { member: { id: "carol" } });
    await vi.advanceTimersByTimeAsync(1000);
    expect(render).toHaveBeenCalledTimes(2);
    const { joined, left, members } = render.mock.calls[1]![0];
    expect([joined.map((m) => m.id), left.map((m) => m.id), members.map((m) => m.id)]).toEqual([
      ["carol"],
      [],
      ["alice", "carol"],
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(render).toHaveBeenCalledTimes(2); // quiet: no render without a change
  });

  it("checks renderIntervalMs, maxMemberDataBytes and misspelled presence options, naming the field", () => {
    for (const [presence, option] of [
      [{ renderIntervalMs: -1 }, "presence.renderIntervalMs"],
      [{ renderIntervalMs: "250" }, "presence.renderIntervalMs"],
      [{ renderIntervalMs: Number.POSITIVE_INFINITY }, "presence.renderIntervalMs"],
      [{ maxMemberDataBytes: -1 }, "presence.maxMemberDataBytes"],
      [{ maxMemberDataBytes: 1.5 }, "presence.maxMemberDataBytes"],
      [{ renderInterval: 250 }, "renderInterval"],
    ] as const) {
      const err = thrownBy(() => new EventBroker({ presence: presence as never }));
      expect(SSEOptionError.isInstance(err) && err.option).toBe(option);
    }
    expect(
      String(thrownBy(() => new EventBroker({ presence: { renderInterval: 1 } as never }))),
    ).toMatch(/did you mean `renderIntervalMs`\?/);
  });
});

describe("presence topics are state topics", () => {
  it("a watcher that does not read holds one presence list, the newest (conflated, not dropped)", async () => {
    const broker = brokerWith({ bufferSize: 4, presence: { render: list, renderIntervalMs: 0 } });
    const watcher = broker.subscribe("presence:room");
    for (let i = 0; i < 20; i++) {
      broker.subscribe("room", { member: { id: `m${i}` } });
      await nextTurn(undefined); // a tick each: 20 renders (renderIntervalMs 0)
    }
    expect(broker.stats()).toMatchObject({ conflated: 19, dropped: 0 });
    const got = await queued(watcher);
    expect(got).toHaveLength(1);
    const members = await broker.members("room");
    expect(got[0]!.data).toBe(list({ topic: "room", joined: [], left: [], members }));
  });

  it("a watcher resuming with Last-Event-ID gets the latest list only", async () => {
    const broker = brokerWith({ historySize: 4, presence: { render: list, renderIntervalMs: 0 } });
    const first = broker.subscribe("presence:room");
    broker.subscribe("room", { member: { id: "alice" } });
    await nextTurn(undefined);
    const [seen] = await queued(first);
    expect(seen?.data).toBe("<ul><li>alice</li></ul>");
    broker.unsubscribe(first); // the tab is away...
    await joinOneByOne(broker, ["bob", "carol", "dan"]);
    for (let i = 0; i < 10; i++) broker.publish("other", { data: "x" }); // ...and history moved on
    const back = broker.subscribe("presence:room", { lastEventId: seen!.id });
    const got = await queued(back);
    expect(got.map((e) => e.data)).toEqual([
      "<ul><li>alice</li><li>bob</li><li>carol</li><li>dan</li></ul>",
    ]);
  });

  it("follows a custom prefix, and the app's own policy for prefix* wins", async () => {
    const custom = brokerWith({
      bufferSize: 2,
      presence: { render: list, renderIntervalMs: 0, prefix: "who:" },
    });
    const watcher = custom.subscribe("who:room");
    await joinOneByOne(custom, ["a", "b", "c"]);
    expect(custom.stats().conflated).toBe(2);
    expect(await queued(watcher)).toHaveLength(1);

    const logged = brokerWith({
      bufferSize: 8,
      presence: { render: list, renderIntervalMs: 0 },
      topics: { "presence:*": { kind: "log" } },
    });
    const all = logged.subscribe("presence:room");
    await joinOneByOne(logged, ["a", "b", "c"]);
    expect(logged.stats().conflated).toBe(0);
    expect(await queued(all)).toHaveLength(3);
  });
});

describe("presence: a member's data is bounded", () => {
  const cyclic = (): unknown => {
    const data: Record<string, unknown> = { name: "loop" };
    data.self = data;
    return data;
  };

  it("subscribe refuses cyclic data and data whose JSON is over maxMemberDataBytes, naming member.data", () => {
    const broker = brokerWith({});
    const refused = (data: unknown, b = broker) =>
      thrownBy(() => b.subscribe("room", { member: { id: "mallory", data } }));
    for (const data of [
      cyclic(),
      { bio: "x".repeat(5000) },
      { bio: "é".repeat(3000) }, // 3,011 characters, 6,011 bytes of UTF-8
      { big: 1n },
      () => "a function",
    ]) {
      const err = refused(data);
      expect(SSEOptionError.isInstance(err) && err.option).toBe("member.data");
    }
    expect(String(refused({ bio: "x".repeat(5000) }))).toMatch(
      /sse: member\.data: must be at most 4096 bytes of JSON/,
    );
    expect(broker.stats()).toMatchObject({ clients: 0, members: 0 });
    // Within the limit: accepted, as is more with a higher cap, or no cap (0); a cycle never.
    broker.subscribe("room", { member: { id: "alice", data: { name: "A".repeat(4000) } } });
    const roomy = brokerWith({ presence: { maxMemberDataBytes: 0 } });
    roomy.subscribe("room", { member: { id: "bob", data: { bio: "x".repeat(1 << 20) } } });
    const err = refused(cyclic(), roomy);
    expect(SSEOptionError.isInstance(err) && err.option).toBe("member.data");
  });

  it("a handler whose presence function returns cyclic or oversized data answers 500 and reports presence.data", async () => {
    for (const data of [cyclic(), { bio: "x".repeat(1 << 20) }]) {
      const broker = brokerWith({});
      const reported: unknown[] = [];
      const events = handlerFunc(broker, () => "room", {
        presence: () => ({ id: "mallory", data }),
        onError: (error) => reported.push(error),
      });
      const server = await listen(events);
      cleanups.push(() => server.close());
      const res = await fetch(server.url);
      await res.body?.cancel();
      expect(res.status).toBe(500);
      expect(reported).toHaveLength(1);
      const err = reported[0];
      expect(SSEOptionError.isInstance(err) && err.option).toBe("presence.data");
      expect(broker.stats()).toMatchObject({ clients: 0, members: 0, refused: { error: 1 } });
    }
  });
});
