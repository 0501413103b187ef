import { once } from "node:events";
import { connect } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { cleanupAfterEach, listen, rawClient, thrownBy, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { checkKeys, optionKeys } from "../adapter.js";
import {
  brokerMiddleware,
  contextHandler,
  contextHandlerFunc,
  EventBroker,
  encodeEvent,
  fetchHandler,
  handler,
  handlerFunc,
  SSEFieldError,
  SSEOptionError,
  streamHandler,
  validateBrokerOptions,
} from "../index.js";

// Issue 15, items 3 to 7: arguments and options that cannot work throw an
// SSEOptionError at creation, naming them; unknown keys name the closest
// known one; numbers are numbers; 0 turns a numeric option's feature off.

const cleanups = cleanupAfterEach();

function broker(options?: ConstructorParameters<typeof EventBroker>[0]): EventBroker {
  const b = new EventBroker(options);
  cleanups.push(() => b.close());
  return b;
}

async function serve(listener: Parameters<typeof listen>[0]) {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return server;
}

/** The SSEOptionError `make` throws: its option and message. */
function optionError(make: () => unknown): { option: string; message: string } {
  const err = thrownBy(make);
  expect(SSEOptionError.isInstance(err), String(err)).toBe(true);
  const { option, message } = err as SSEOptionError;
  return { option, message };
}

describe("wrong arguments throw at creation, naming the argument", () => {
  const b = new EventBroker();

  it.each([
    [
      "handler(undefined, 't')",
      () => handler(undefined as never, "t"),
      "broker",
      "sse: broker: must be an EventBroker, e.g. new EventBroker(), got undefined — to take the broker from the request, use contextHandler (after middleware(broker))",
    ],
    [
      "handler(b, 't', { authorize: true })",
      () => handler(b, "t", { authorize: true as never }),
      "authorize",
      "sse: authorize: must be a function (req, topics) => boolean, got true",
    ],
    [
      "handlerFunc(b, 't')",
      () => handlerFunc(b, "t" as never),
      "topicsFn",
      'sse: topicsFn: must be a function (req) => topics, got "t" (a string) — fixed topics go to handler (or contextHandler)',
    ],
    [
      "handler(b, 't', 5000)",
      () => handler(b, "t", 5000 as never),
      "options",
      "sse: options: must be an object of handler options, e.g. { keepaliveMs: 15000 }, got 5000",
    ],
    [
      "handler(b, 't', null)",
      () => handler(b, "t", null as never),
      "options",
      "sse: options: must be an object of handler options, e.g. { keepaliveMs: 15000 }, got null",
    ],
    [
      "handler(b, 42)",
      () => handler(b, 42 as never),
      "topics",
      "sse: topics: must be a topic name or a list of topic names, got 42",
    ],
    [
      "handler(b, [])",
      () => handler(b, []),
      "topics",
      "sse: topics: at least one topic is required, got an array",
    ],
    [
      "handler(b, 'my topic')",
      () => handler(b, "my topic"),
      "topics",
      'sse: topics: topic "my topic" has characters that are not allowed, got "my topic" (a string)',
    ],
    [
      "handler(b, (req) => …)",
      () => handler(b, (() => "t") as never),
      "topics",
      "sse: topics: must be a topic name or a list of topic names, got a function — a function of the request goes to handlerFunc (or contextHandlerFunc)",
    ],
    [
      "contextHandlerFunc('t')",
      () => contextHandlerFunc("t" as never),
      "topicsFn",
      'sse: topicsFn: must be a function (req) => topics, got "t" (a string) — fixed topics go to handler (or contextHandler)',
    ],
    [
      "fetchHandler(undefined, 't')",
      () => fetchHandler(undefined as never, "t"),
      "broker",
      "sse: broker: must be an EventBroker, e.g. new EventBroker(), got undefined — to take the broker from the request, use contextHandler (after middleware(broker))",
    ],
    [
      "handler(b, 't', { onError: 'log' })",
      () => handler(b, "t", { onError: "log" as never }),
      "onError",
      'sse: onError: must be a function (error, req) => void, got "log" (a string)',
    ],
    [
      "brokerMiddleware(undefined)",
      () => brokerMiddleware(undefined as never),
      "source",
      "sse: source: must be an EventBroker or a function returning one, e.g. middleware(broker), got undefined",
    ],
  ])("%s", (_name, make, option, message) => {
    expect(optionError(make)).toEqual({ option, message });
  });

  it("a broker from another copy of the package (not instanceof) is accepted", () => {
    const copy = Object.create(null) as Record<string, unknown>;
    for (const name of ["subscribe", "unsubscribe", "publish", "stats"]) {
      copy[name] = (...args: unknown[]) =>
        (b as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
    }
    expect(() => handler(copy as never, "t")).not.toThrow();
  });
});

describe("unknown option keys are refused, naming the closest known one", () => {
  it.each([
    [
      "handler option keepAlive",
      () => handler(broker(), "t", { keepAlive: 5000 } as never),
      "sse: keepAlive: is not a handler option, got 5000 — did you mean `keepaliveMs`?",
    ],
    [
      "handler option maxclients",
      () => contextHandler("t", { maxclients: 5 } as never),
      "sse: maxclients: is not a handler option, got 5 — did you mean `maxClients`?",
    ],
    [
      "a broker option given to a handler",
      () => handlerFunc(broker(), () => "t", { bufferSize: 32 } as never),
      "sse: bufferSize: is not a handler option, got 32 — bufferSize is the broker's option: new EventBroker({ bufferSize })",
    ],
    [
      "handler option far from any",
      () => fetchHandler(broker(), "t", { colour: "red" } as never),
      'sse: colour: is not a handler option, got "red" (a string) — known: keepaliveMs, authorize, onError, reconnectWindowMs, swap, swapEveryRequest, presence, snapshotOnConnect, snapshot, maxClients, maxClientsPerAddress, maxTopics, maxTopicLength, maxLastEventIdLength, topicPattern',
    ],
    [
      "broker option buffersize",
      () => new EventBroker({ buffersize: 8 } as never),
      "sse: buffersize: is not a broker option, got 8 — did you mean `bufferSize`?",
    ],
    [
      "a handler option given to the broker",
      () => new EventBroker({ keepaliveMs: 1000 } as never),
      "sse: keepaliveMs: is not a broker option, got 1000 — keepaliveMs is a handler option: handler(broker, topics, { keepaliveMs })",
    ],
    [
      "stream option keepAlive",
      () => streamHandler(() => {}, { keepAlive: 5 } as never),
      "sse: keepAlive: is not a stream option, got 5 — did you mean `keepaliveMs`?",
    ],
  ])("%s", (_name, make, message) => {
    expect(optionError(make).message).toBe(message);
  });

  it("publish refuses an event key that is not a field, naming the field meant", () => {
    const b = broker();
    const client = b.subscribe("t");
    for (const [event, message] of [
      [
        { event: "x", data: "d" },
        "sse: event: `event` is not an event field (an event has type, data, id and retry): did you mean `type`?",
      ],
      [
        { data: "d", Id: "1" },
        "sse: event: `Id` is not an event field (an event has type, data, id and retry): did you mean `id`?",
      ],
      [
        { data: "d", html: "<p>" },
        "sse: event: `html` is not an event field (an event has type, data, id and retry)",
      ],
    ] as const) {
      const err = thrownBy(() => b.publish("t", event as never));
      expect(SSEFieldError.isInstance(err)).toBe(true);
      expect((err as SSEFieldError).field).toBe("event");
      expect((err as Error).message).toBe(message);
      expect(() => encodeEvent(event as never)).toThrow(message);
    }
    expect(b.stats().published).toBe(0);
    expect(client.closed).toBe(false);
  });
});

describe("an options type and its known keys come from one declaration (optionKeys)", () => {
  interface Options {
    url?: string;
    timeoutMs?: number;
  }

  it("returns the list as given, for checkKeys", () => {
    const known = optionKeys<Options>()(["url", "timeoutMs"]);
    expect(known).toEqual(["url", "timeoutMs"]);
    expect(optionError(() => checkKeys({ timeout: 5 }, known, "an option of test")).message).toBe(
      "sse: timeout: is not an option of test, got 5 — did you mean `timeoutMs`?",
    );
  });

  it("refuses, at compile time, a key left out and a key the type does not declare", () => {
    // `pnpm typecheck` fails if either line compiles: the directives check the checker.
    // @ts-expect-error -- "timeoutMs" is left out
    optionKeys<Options>()(["url"]);
    // @ts-expect-error -- "timeout" is not a key of Options
    optionKeys<Options>()(["url", "timeoutMs", "timeout"]);
  });
});

describe("numbers are numbers: a string is refused, quoted and named", () => {
  it.each([
    [
      "handler maxClients '100'",
      () => handler(broker(), "t", { maxClients: "100" as never }),
      'sse: maxClients: must be an integer of at least 0 (or Infinity), got "100" (a string) — pass the number 100, not a string',
    ],
    [
      "handler keepaliveMs '15000'",
      () => handler(broker(), "t", { keepaliveMs: "15000" as never }),
      'sse: keepaliveMs: must be a number of at least 0, got "15000" (a string) — pass the number 15000, not a string',
    ],
    [
      "broker bufferSize '8'",
      () => new EventBroker({ bufferSize: "8" as never }),
      'sse: bufferSize: must be a number, got "8" (a string) — pass the number 8, not a string',
    ],
    [
      "new EventBroker('8')",
      () => new EventBroker("8" as never),
      'sse: options: must be a number (the bufferSize) or an object of broker options, e.g. { bufferSize: 32 }, got "8" (a string) — pass the number 8, not a string',
    ],
    [
      "broker historySize '100'",
      () => new EventBroker({ historySize: "100" as never }),
      'sse: historySize: must be an integer of at least 0, got "100" (a string) — pass the number 100, not a string',
    ],
    [
      "stream bufferSize 'abc'",
      () => streamHandler(() => {}, { bufferSize: "abc" as never }),
      'sse: bufferSize: must be a number, got "abc" (a string)',
    ],
    [
      "handler maxClients 1.5",
      () => handler(broker(), "t", { maxClients: 1.5 }),
      "sse: maxClients: must be an integer of at least 0 (or Infinity), got 1.5",
    ],
    [
      "broker historySize -1",
      () => new EventBroker({ historySize: -1 }),
      "sse: historySize: must be an integer of at least 0, got -1",
    ],
    [
      "broker bufferSize NaN",
      () => new EventBroker({ bufferSize: Number.NaN }),
      "sse: bufferSize: must be a number, got NaN",
    ],
  ])("%s", (_name, make, message) => {
    expect(optionError(make).message).toBe(message);
  });
});

describe("one rule for 0 and for buffer sizes", () => {
  it("maxClients: 0 and maxClientsPerAddress: 0 mean no cap, as keepaliveMs: 0 means no keepalive", async () => {
    const b = broker();
    const { port } = await serve(
      handler(b, "t", { maxClients: 0, maxClientsPerAddress: 0, keepaliveMs: 0 }),
    );
    const clients = Array.from({ length: 3 }, () => rawClient(port, "/"));
    cleanups.push(() => {
      for (const client of clients) client.close();
    });
    await Promise.all(clients.map((client) => client.ready));
    expect(clients.map((client) => client.head.split("\r\n")[0])).toEqual(
      Array(3).fill("HTTP/1.1 200 OK"),
    );
    await waitFor(() => b.stats().clients === 3, "three clients");
    expect(clients.every((client) => client.comments.length === 0)).toBe(true);
  });

  it("maxTopics: 0 means no cap on the topics of a stream", () => {
    const topics = Array.from({ length: 40 }, (_, i) => `t${i}`);
    expect(() => handler(broker(), topics)).toThrow(/too many topics/);
    expect(() => handler(broker(), topics, { maxTopics: 0 })).not.toThrow();
  });

  it("a buffer size below 1 is 1, for the broker (the contract) and for request streams", async () => {
    expect(broker({ bufferSize: 0 }).bufferSize).toBe(1);
    expect(broker(-5).bufferSize).toBe(1);
    expect(broker({ bufferSize: 2.7 }).bufferSize).toBe(2);
    let results: boolean[] = [];
    const { port } = await serve(
      streamHandler(
        async (stream) => {
          const big = "y".repeat(64 * 1024);
          results = await Promise.all(Array.from({ length: 50 }, () => stream.send({ data: big })));
        },
        { bufferSize: 0 },
      ),
    );
    // A client that reads nothing: past the socket's buffers, sends are refused.
    const socket = connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    socket.write("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    await once(socket, "data");
    socket.pause();
    await waitFor(() => results.length === 50, "every send settled");
    expect(results.filter((sent) => !sent).length).toBeGreaterThan(30);
  });
});

describe("a backplane passed without its call", () => {
  it("names the mistake instead of failing inside the broker", () => {
    function redisBackplane() {
      return {};
    }
    expect(optionError(() => new EventBroker({ backplane: redisBackplane as never }))).toEqual({
      option: "backplane",
      message:
        "sse: backplane: must be a backplane object, e.g. redisBackplane(), got a function — did you pass the function without calling it?",
    });
    expect(() => validateBrokerOptions({ backplane: {} as never })).toThrow(
      "sse: backplane: must be a backplane object, e.g. redisBackplane(), got an object",
    );
    expect(() => validateBrokerOptions({ historySize: 10 })).not.toThrow();
  });
});

describe("a topic no client can subscribe to", () => {
  it("publish accepts it but warns once per broker, naming the topic", async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error) => warnings.push(warning);
    process.on("warning", listener);
    cleanups.push(() => process.off("warning", listener));
    const b = broker();
    b.publish("ok:topic", { data: "fine" });
    b.publish("my topic", { data: "x" });
    b.publish("other topic", { data: "y" });
    const second = broker();
    second.publish("x".repeat(129), { data: "z" });
    await waitFor(() => warnings.length === 2, "two warnings");
    await tick();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ name: "SSEWarning", code: "SSE_TOPIC_UNSUBSCRIBABLE" });
    expect(warnings[0]!.message).toBe(
      'sse: topic "my topic" was published, but a handler with the default limits refuses it (white space, control characters, or more than 128 characters): no browser can subscribe to it. Name topics like "project:42", or give the handler a topicPattern (or maxTopicLength) that accepts it. (Warned once per broker.)',
    );
    expect(warnings[1]!.message).toContain(`"${"x".repeat(40)}…"`);
    // What every handler answers a client asking for it:
    const refused = await fetchHandler(b, () => "my topic")(new Request("http://x/"));
    expect([refused.status, await refused.text()]).toEqual([
      400,
      'sse: topic "my topic" has characters that are not allowed',
    ]);
  });
});
