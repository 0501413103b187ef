import type { IncomingMessage, ServerResponse } from "node:http";
import { cleanupAfterEach, listen, recordEvents, waitFor } from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import { frameworkHandlers } from "../adapter.js";
import { errorAnswer } from "../admission/answers.js";
import { readableThrown } from "../admission/error-reports.js";
import { EventBroker, handlerFunc, SSECallbackError, withBroker } from "../index.js";

// Issue 23, items 1–3, at core's level: the one adapter factory follows a
// framework's error contract (a bug before anything is written is handed on
// unanswered; the framework takes over only when core writes), a handler run
// twice on one response subscribes nothing the second time, and whatever a
// callback throws is read safely. The crash each one replaced is proved with
// the server as its own process in the adapters' error-contract tests.

const cleanups = cleanupAfterEach();

type Next = (error?: unknown) => void;

function broker(): EventBroker {
  const b = new EventBroker();
  cleanups.push(() => b.close());
  return b;
}

/** A framework as small as polka: `(req, res, next)`, with a log of its hooks. */
function miniFramework() {
  const log: string[] = [];
  const handlers = frameworkHandlers<
    [IncomingMessage, ServerResponse, Next],
    IncomingMessage,
    void
  >({
    read: (req, res) => ({ req, res, subject: req }),
    hooks: (_kind, _req, res) => ({
      propagate: true,
      noBrokerFix: "call mini.use(broker) first",
      takeOver: () => log.push(`takeOver (head sent: ${res.headersSent})`),
      report: (error) => log.push(`report: ${(error as Error).message}`),
    }),
    settle: (served, _req, _res, next) => void served.catch(next),
  });
  return { handlers, log };
}

/** Serves `route` with an error handler that answers what `next(err)` is given, as an app's does. */
async function serve(
  route: (req: IncomingMessage, res: ServerResponse, next: Next) => void,
  handed: unknown[] = [],
) {
  const server = await listen((req, res) =>
    route(req, res, (error) => {
      handed.push(error);
      const sent = res.headersSent;
      res.writeHead(500).end(`app: ${sent}`);
    }),
  );
  cleanups.push(() => server.close());
  return server.url;
}

const bug = (): never => {
  throw new TypeError("Cannot read properties of undefined (reading 'toLowerCase')");
};

describe("frameworkHandlers: a framework's error contract", () => {
  it("a bug before anything is written is handed on, nothing answered and nothing taken over", async () => {
    const { handlers, log } = miniFramework();
    const handed: unknown[] = [];
    const url = await serve(handlers.handlerFunc(broker(), bug), handed);
    const response = await fetch(`${url}/events`);
    expect([response.status, await response.text()]).toEqual([500, "app: false"]);
    expect(handed).toHaveLength(1);
    expect(handed[0]).toBeInstanceOf(TypeError);
    expect(log).toEqual([]);
  });

  it("a missing broker is handed on naming the framework's fix", async () => {
    const { handlers } = miniFramework();
    const handed: unknown[] = [];
    const url = await serve(handlers.contextHandler("news"), handed);
    expect((await fetch(`${url}/events`)).status).toBe(500);
    expect(handed[0]).toMatchObject({
      name: "SSEMissingBrokerError",
      message: "sse: no broker on this request: call mini.use(broker) first",
    });
  });

  it("takes over once, before core writes a stream's head or a refusal, and hands nothing on", async () => {
    const { handlers, log } = miniFramework();
    const b = broker();
    const handed: unknown[] = [];
    const events = handlers.contextHandlerFunc((req) => (req.url === "/no" ? "" : "news"), {
      authorize: (req) => req.url !== "/forbidden",
    });
    const url = await serve((req, res, next) => {
      withBroker(req, b);
      events(req, res, next);
    }, handed);
    expect((await fetch(`${url}/forbidden`)).status).toBe(403);
    expect((await fetch(`${url}/no`)).status).toBe(400);
    const stream = recordEvents(`${url}/events`, ["news"]);
    cleanups.push(() => stream.close());
    await stream.opened;
    b.publish("news", { data: "live" });
    expect((await stream.waitForCount(1))[0]?.data).toBe("live");
    expect(log).toEqual([
      "takeOver (head sent: false)",
      "takeOver (head sent: false)",
      "takeOver (head sent: false)",
    ]);
    expect(handed).toEqual([]);
  });

  it("a producer that throws once its stream started goes to the framework's report, not on", async () => {
    const { handlers, log } = miniFramework();
    const handed: unknown[] = [];
    const url = await serve(
      handlers.streamHandler(async (stream) => {
        await stream.send({ data: "started" });
        throw new Error("render failed");
      }),
      handed,
    );
    const response = await fetch(`${url}/report`, { method: "POST" });
    expect([response.status, await response.text()]).toEqual([200, "data: started\n\n"]);
    await waitFor(() => log.length === 2, "the report");
    expect(log).toEqual(["takeOver (head sent: false)", "report: render failed"]);
    expect(handed).toEqual([]);
  });
});

describe("a handler run twice on one request", () => {
  it("subscribes nothing the second time, reports it, and the first stream goes on", async () => {
    const b = broker();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    cleanups.push(() => logged.mockRestore());
    const events = handlerFunc(b, () => "news");
    // Two routes matching one request, as a new user writes them.
    const url = await serve((req, res, next) => {
      events(req, res, next);
      events(req, res, next);
    });
    const clients = Array.from({ length: 5 }, () => recordEvents(`${url}/events`, ["news"]));
    await Promise.all(clients.map((c) => c.opened));
    expect(b.stats().clients).toBe(5);
    b.publish("news", { data: "once" });
    for (const client of clients) expect((await client.waitForCount(1))[0]?.data).toBe("once");
    expect(logged).toHaveBeenCalledTimes(5);
    expect(String(logged.mock.calls[0]?.[1])).toContain("already taken");
    for (const client of clients) client.close();
    await waitFor(() => b.stats().clients === 0, "every client to leave");
  });
});

describe("whatever a callback throws", () => {
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const throwing = new Proxy(
    {},
    {
      get: () => {
        throw new Error("trap");
      },
      getPrototypeOf: () => {
        throw new Error("trap");
      },
      has: () => {
        throw new Error("trap");
      },
    },
  );
  const getter = Object.defineProperty({}, "status", {
    get: () => {
      throw new Error("getter");
    },
  });
  const hostile: [string, unknown][] = [
    ["a Proxy whose traps throw", throwing],
    ["a revoked Proxy", revoked],
    ["an object whose status getter throws", getter],
    ["undefined", undefined],
    ["null", null],
    ["the string route", "route"],
    ["a symbol", Symbol("x")],
  ];

  it.each(hostile)("%s is read as an SSECallbackError answered 500", (_, value) => {
    const readable = readableThrown(value);
    expect(SSECallbackError.isInstance(readable)).toBe(true);
    expect(errorAnswer.of(value)).toEqual({
      status: 500,
      message: "sse: internal error",
      report: true,
    });
  });

  it("an ordinary error or error-like object is kept as it is", () => {
    const error = new TypeError("x");
    const refusal = { status: 403, message: "no" };
    expect(readableThrown(error)).toBe(error);
    expect(readableThrown(refusal)).toBe(refusal);
    expect(errorAnswer.of(refusal).status).toBe(403);
  });

  it.each(hostile)(
    "%s from a topic function: a 500, and next gets an SSECallbackError",
    async (_, value) => {
      const handed: unknown[] = [];
      const url = await serve(
        handlerFunc(broker(), () => {
          throw value;
        }),
        handed,
      );
      expect((await fetch(`${url}/events`)).status).toBe(500);
      expect(handed).toHaveLength(1);
      expect(SSECallbackError.isInstance(handed[0])).toBe(true);
    },
  );

  it.each(hostile)("%s with no next: a bare 500 and one log line", async (_, value) => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    cleanups.push(() => logged.mockRestore());
    const events = handlerFunc(broker(), () => {
      throw value;
    });
    const server = await listen((req, res) => events(req, res));
    cleanups.push(() => server.close());
    const response = await fetch(`${server.url}/events`);
    expect([response.status, await response.text()]).toEqual([500, "sse: internal error"]);
    await waitFor(() => logged.mock.calls.length === 1, "the log line");
    expect(SSECallbackError.isInstance(logged.mock.calls[0]?.[1])).toBe(true);
  });
});
