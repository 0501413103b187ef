import { cleanupAfterEach, listen, rawClient, thrownBy, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { serveEvents, validateTopics } from "../adapter.js";
import {
  contextHandler,
  EventBroker,
  fetchHandler,
  handler,
  handlerFunc,
  SSEOptionError,
} from "../index.js";
import { capturedWarnings, firstEvent } from "../testing/swap-server.js";

// Issue 27, item 2: a misspelt `swap` key (`{ note: "#notes" }` on topic
// `notes`) wrapped nothing, and the fragments went to the stream element's
// own target instead of #notes, silently.

const cleanups = cleanupAfterEach();

function broker(): EventBroker {
  const b = new EventBroker();
  cleanups.push(() => b.close());
  return b;
}

const warnings = () => capturedWarnings(cleanups);

describe("swap keys, at creation: a key none of a handler's static topics is, is refused", () => {
  it("names the key, the topics and the closest topic", () => {
    const err = thrownBy(() =>
      handler(broker(), ["notes", "status"], { swap: { note: "#notes", status: "#status" } }),
    );
    expect(SSEOptionError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({
      option: "swap.note",
      value: "#notes",
      message:
        'sse: swap.note: names none of this handler\'s topics (notes, status), got "#notes" (a string) — did you mean `notes`?',
    });
  });

  it("without a close topic, says what a key must be", () => {
    const err = thrownBy(() =>
      handler(broker(), "notes", { swap: { "project:*": { target: "#p", swap: "beforeend" } } }),
    ) as Error;
    expect(err.message).toBe(
      "sse: swap.project:*: names none of this handler's topics (notes), got an object — a swap key is one of the handler's topics, exactly as given (no patterns): add the topic, or remove the key",
    );
  });

  it("lists at most six topics", () => {
    const topics = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"];
    const err = thrownBy(() => handler(broker(), topics, { swap: { zzzzzz: "#z" } })) as Error;
    expect(err.message).toContain("(a1, a2, a3, a4, a5, a6 and 2 more)");
  });

  it("every handler of static topics refuses it; the same map on its topics is accepted", () => {
    const b = broker();
    const typo = { swap: { note: "#notes" } };
    for (const make of [
      () => handler(b, "notes", typo),
      () => contextHandler("notes", typo),
      () => fetchHandler(b, "notes", typo),
      () => validateTopics("notes", typo),
    ]) {
      expect((thrownBy(make) as SSEOptionError).option).toBe("swap.note");
    }
    const right = { swap: { notes: "#notes" } };
    expect(() => handler(b, ["notes", "status"], right)).not.toThrow();
    expect(() => contextHandler(["status", "notes"], right)).not.toThrow();
    expect(() => fetchHandler(b, "notes", right)).not.toThrow();
    expect(() => handler(b, "notes", { swap: true })).not.toThrow();
    expect(() => handler(b, "notes", { swap: {} })).not.toThrow();
    // A topic function's topics are known only per request: checked then.
    expect(() => handlerFunc(b, () => "notes", typo)).not.toThrow();
    expect(() => fetchHandler(b, () => "notes", typo)).not.toThrow();
  });
});

describe("swap keys, at run time: a topic function's topic without a target, a key close to it, warns once per handler", () => {
  const message =
    'sse: swap: topic "notes" has no target in the swap map, which has "note" instead (a misspelt key?): its events go out unwrapped, into the stream element\'s own target. Key the map by each topic exactly as the topic function returns it. (Warned once per handler.)';
  const warning = [message, { type: "SSEWarning", code: "SSE_SWAP_NO_TARGET" }];
  /** htmx 4's header: only its streams are wrapped, so only they report a missing target. */
  const HTMX = { "HX-Request": "true" };

  it("warns on the first stream, not on every one, and the event still goes out unwrapped", async () => {
    const seen = warnings();
    const b = broker();
    const events = fetchHandler(b, () => "notes", { swap: { note: "#notes" } });
    const first = await events(new Request("http://x/events", { headers: HTMX }));
    const second = await events(new Request("http://x/events", { headers: HTMX }));
    expect(seen).toEqual([warning]);
    b.publish("notes", { data: "<li>a</li>" });
    for (const response of [first, second]) {
      expect(await firstEvent(response)).toMatchObject({ event: undefined, data: "<li>a</li>" });
    }
    // Another handler (another options object) warns once of its own.
    await fetchHandler(b, () => "notes", { swap: { note: "#notes" } })(
      new Request("http://x/", { headers: HTMX }),
    );
    expect(seen).toHaveLength(2);
  });

  it("handlerFunc on node:http warns once across streams", async () => {
    const seen = warnings();
    const b = broker();
    const events = handlerFunc(b, (req) => (req.url === "/a" ? "notes" : ["notes", "status"]), {
      swap: { note: "#notes" },
    });
    const server = await listen(events);
    cleanups.push(() => server.close());
    for (const path of ["/a", "/b", "/a"]) {
      const client = rawClient(server.port, path, { headers: HTMX });
      cleanups.push(() => client.close());
    }
    await waitFor(() => b.stats().clients === 3, "three streams");
    expect(seen).toEqual([warning]);
  });

  it("a key missing for one request's topic, next to its siblings' keys, is reported too", async () => {
    const seen = warnings();
    const swap = { "presence:project:1": "#viewing", "presence:project:2": "#viewing" };
    const topicsOf = (r: Request) => new URL(r.url).searchParams.get("topics")!.split(",");
    const events = fetchHandler(broker(), topicsOf, { swap });
    await events(new Request("http://x/?topics=project:1,presence:project:1", { headers: HTMX }));
    expect(seen).toEqual([]);
    await events(new Request("http://x/?topics=project:3,presence:project:3", { headers: HTMX }));
    expect(seen.map(([m]) => m)).toEqual([
      'sse: swap: topic "presence:project:3" has no target in the swap map, which has "presence:project:1" instead (a misspelt key?): its events go out unwrapped, into the stream element\'s own target. Key the map by each topic exactly as the topic function returns it. (Warned once per handler.)',
    ]);
  });

  it("is quiet for a topic left to the element's own target on purpose, with no key close to it", async () => {
    const seen = warnings();
    const b = broker();
    // "dashboard" has no target on purpose: its data composes its own hxPartials.
    const composed = fetchHandler(b, () => ["notes", "dashboard"], { swap: { notes: "#n" } });
    // The demo's project stream: the project's topic fills the element itself;
    // the other projects' keys name none of this stream's topics, and none is close.
    const project = fetchHandler(b, () => ["project:1", "presence:project:1"], {
      swap: { "presence:project:1": "#viewing", "presence:project:2": "#viewing" },
    });
    // "status" serves other requests of this handler; this one's topic has its target.
    const some = fetchHandler(b, () => "notes", { swap: { notes: "#n", status: "#s" } });
    // A topic close to a key this stream also has is a topic of its own, not a typo.
    const both = fetchHandler(b, () => ["notes", "note"], { swap: { notes: "#n" } });
    const all = fetchHandler(b, () => "room:1", { swap: true });
    for (const events of [composed, project, some, both, all]) {
      await events(new Request("http://x/", { headers: HTMX }));
    }
    expect(seen).toEqual([]);
  });

  it("serveEvents, whose topics no creation checked, warns too", async () => {
    const seen = warnings();
    const b = broker();
    const options = { swap: { note: "#notes" } };
    const server = await listen((req, res) => void serveEvents(req, res, b, "notes", options));
    cleanups.push(() => server.close());
    const client = rawClient(server.port, "/", { headers: HTMX });
    cleanups.push(() => client.close());
    await waitFor(() => b.stats().clients === 1, "a stream");
    expect(seen).toEqual([warning]);
  });
});
