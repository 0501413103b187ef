import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  cleanupAfterEach,
  listen,
  rawClient,
  recordEvents,
  thrownBy,
  waitFor,
} from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import {
  EventBroker,
  fetchHandler,
  handlerFunc,
  type PresenceChange,
  type PresenceOptions,
  SSEOptionError,
} from "../index.js";

const cleanups = cleanupAfterEach();

/** Renders the "who's viewing" list: what a page swaps in with htmx, no JavaScript. */
const render = ({ members, joined, left }: PresenceChange): string =>
  `${members.map((m) => `<li>${(m.data as { name: string }).name}×${m.connections}</li>`).join("")}` +
  `<!--${joined.map((m) => `+${m.id}`).join("")}${left.map((m) => `-${m.id}`).join("")}-->`;

/**
 * Serves `/<topic>` with the user named in `?user=`; `authorize` lets a user
 * on `project-1` only if listed in `allowed`.
 */
async function serve(presence: PresenceOptions | undefined, allowed = ["alice", "bob", "carol"]) {
  const broker = new EventBroker(presence === undefined ? {} : { presence });
  cleanups.push(() => broker.close());
  const asked: string[][] = [];
  const url = (req: IncomingMessage) => new URL(req.url ?? "/", "http://x");
  const events = handlerFunc(broker, (req: IncomingMessage) => url(req).pathname.slice(1), {
    authorize: (req, topics) => {
      asked.push([...topics]);
      const user = url(req).searchParams.get("user") ?? "";
      return !topics.includes("project-1") || allowed.includes(user);
    },
    presence: (req) => {
      const user = url(req).searchParams.get("user");
      return user === null ? undefined : { id: user, data: { name: user.toUpperCase() } };
    },
  });
  const server = await listen(events);
  cleanups.push(() => server.close());
  const open = (path: string) => {
    const client = rawClient(server.port, path);
    cleanups.push(() => client.close());
    return client;
  };
  return { broker, server, open, asked };
}

describe("presence: who is connected", () => {
  it("lists members per topic with their data and connection counts (three tabs are one member)", async () => {
    const { broker, open } = await serve({});
    const tabs = [open("/project-1?user=alice"), open("/project-1?user=alice")];
    tabs.push(
      open("/project-1?user=alice"),
      open("/project-1?user=bob"),
      open("/project-2?user=bob"),
    );
    open("/project-2"); // anonymous: a client, not a member
    await waitFor(() => broker.stats().clients === 6, "six streams");
    expect(await broker.members("project-1")).toEqual([
      { id: "alice", data: { name: "ALICE" }, connections: 3 },
      { id: "bob", data: { name: "BOB" }, connections: 1 },
    ]);
    expect(await broker.members("project-2")).toEqual([
      { id: "bob", data: { name: "BOB" }, connections: 1 },
    ]);
    expect(await broker.members("nobody-here")).toEqual([]);
    expect(broker.stats().members).toBe(3);
    tabs[0]!.close();
    await waitFor(
      async () => (await broker.members("project-1"))[0]?.connections === 2,
      "a tab closed",
    );
  });

  it("publishes rendered joins and leaves on the presence topic; a leave waits out debounceMs", async () => {
    const { broker, server, open } = await serve({ render, debounceMs: 0 });
    const watcher = recordEvents(`${server.url}/presence:project-1?user=carol`, [
      "presence:project-1",
    ]);
    cleanups.push(() => watcher.close());
    await watcher.opened;
    const alice = open("/project-1?user=alice");
    await watcher.waitForCount(1);
    const bob = open("/project-1?user=bob");
    await watcher.waitForCount(2);
    bob.close();
    await watcher.waitForCount(3);
    alice.close();
    await watcher.waitForCount(4);
    expect(watcher.events.map((e) => e.data)).toEqual([
      "<li>ALICE×1</li><!--+alice-->",
      "<li>ALICE×1</li><li>BOB×1</li><!--+bob-->",
      "<li>ALICE×1</li><!---bob-->",
      "<!---alice-->",
    ]);
    // The watcher itself (carol, on the presence topic only) is no member of anything.
    expect(await broker.members("presence:project-1")).toEqual([]);
    expect(broker.stats().members).toBe(0);
  });

  it("does not flap on a reload: a leave followed by a join within debounceMs publishes nothing", async () => {
    // A debounce far longer than the test: the reload is certainly inside it.
    const { broker, server, open } = await serve({ render, debounceMs: 600_000 });
    const watcher = recordEvents(`${server.url}/presence:project-1?user=carol`, [
      "presence:project-1",
    ]);
    cleanups.push(() => watcher.close());
    await watcher.opened;
    const first = open("/project-1?user=alice");
    await watcher.waitForCount(1);
    first.close(); // the page reloads...
    await waitFor(async () => (await broker.members("project-1"))[0]?.connections === 0, "closed");
    open("/project-1?user=alice"); // ...and comes back
    await waitFor(async () => (await broker.members("project-1"))[0]?.connections === 1, "back");
    open("/project-1?user=bob"); // the next change is bob's join: nothing was published between
    await watcher.waitForCount(2);
    expect(watcher.events.map((e) => e.data)).toEqual([
      "<li>ALICE×1</li><!--+alice-->",
      "<li>ALICE×1</li><li>BOB×1</li><!--+bob-->",
    ]);
  });

  it("shows a topic's presence only to clients allowed on the topic", async () => {
    const { server, asked } = await serve({ render }, ["alice"]);
    const status = async (path: string) => {
      const res = await fetch(server.url + path);
      await res.body?.cancel();
      return res.status;
    };
    expect(await status("/presence:project-1?user=mallory")).toBe(403);
    expect(asked.at(-1)).toEqual(["presence:project-1", "project-1"]);
    expect(await status("/presence:project-1?user=alice")).toBe(200);
    // Without the broker's presence option, "presence:project-1" is just a topic name.
    const plain = await serve(undefined, ["alice"]);
    expect(await (await fetch(`${plain.server.url}/presence:project-1?user=mallory`)).status).toBe(
      200,
    );
  });

  it("joins and leaves through fetchHandler too", async () => {
    const broker = new EventBroker({
      presence: { render: ({ members }) => members.map((m) => m.id).join(","), debounceMs: 0 },
    });
    cleanups.push(() => broker.close());
    const get = fetchHandler(broker, "room", {
      presence: (request) => ({ id: request.headers.get("x-user") ?? "anon" }),
    });
    const aborter = new AbortController();
    const res = await get(
      new Request("http://x/room", { headers: { "x-user": "dora" }, signal: aborter.signal }),
    );
    expect(await broker.members("room")).toEqual([{ id: "dora", data: undefined, connections: 1 }]);
    aborter.abort();
    await res.body?.cancel().catch(() => {});
    await waitFor(async () => (await broker.members("room")).length === 0, "dora left");
  });

  it("rejects bad presence options and bad identities, naming the field", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const notFn = thrownBy(() => handlerFunc(broker, () => "t", { presence: "alice" as never }));
    expect(SSEOptionError.isInstance(notFn) && notFn.option).toBe("presence");
    expect(() => fetchHandler(broker, "t", { presence: 1 as never })).toThrow(/sse: presence:/);
    for (const [presence, option] of [
      [{ debounceMs: -1 }, "presence.debounceMs"],
      [{ prefix: "" }, "presence.prefix"],
      [{ render: "<li>" }, "presence.render"],
      ["on", "presence"],
    ] as const) {
      const err = thrownBy(() => new EventBroker({ presence: presence as never }));
      expect(SSEOptionError.isInstance(err) && err.option).toBe(option);
    }
    // subscribe's option is `member`: the error names it (a handler's `presence` result names `presence`).
    const badMember = thrownBy(() => broker.subscribe("t", { member: { id: "" } }));
    expect(SSEOptionError.isInstance(badMember) && badMember.option).toBe("member");
    expect(String(badMember)).toMatch(/sse: member: must be undefined or \{ id, data\? \}/);
    // A presence function returning a bad identity answers 500, counted as a refusal for "error".
    const events = handlerFunc(broker, () => "t", { presence: () => ({ id: 42 }) as never });
    const server = await listen(events);
    cleanups.push(() => server.close());
    const res = await fetch(server.url);
    expect(res.status).toBe(500);
    expect(broker.stats().refused.error).toBe(1);
    expect(broker.stats().clients).toBe(0);
  });
});

describe("README: presence example", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const example = `${root}examples/presence.mjs`;

  it("appears in the README verbatim and prints the members, then the rendered join and leave", async () => {
    const readme = readFileSync(`${root}README.md`, "utf8");
    expect(readme).toContain(readFileSync(example, "utf8").trimEnd());
    const { stdout } = await promisify(execFile)(process.execPath, [example]);
    expect(stdout).toBe(
      [
        "alice 2",
        "bob 1",
        'presence:project-1 <ul id="viewing"><li>Alice</li><li>Bob</li></ul>',
        'presence:project-1 <ul id="viewing"><li>Alice</li></ul>',
        "",
      ].join("\n"),
    );
  });
});
