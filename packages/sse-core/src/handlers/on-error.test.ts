import type { IncomingMessage, ServerResponse } from "node:http";
import { setImmediate as tick } from "node:timers/promises";
import { cleanupAfterEach, listen, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import { serveEvents } from "../adapter.js";
import {
  EventBroker,
  fetchHandler,
  handler,
  handlerFunc,
  type OnError,
  streamHandler,
} from "../index.js";

// Issue 15, item 1: a topic function or authorize that throws (a bug, not a
// refusal) is answered a bare 500 and reported: to onError, else to `next`,
// else logged once with the request's method and path.

const cleanups = cleanupAfterEach();

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(listener: Listener) {
  const server = await listen(listener);
  cleanups.push(() => server.close());
  return server;
}

function broker(): EventBroker {
  const b = new EventBroker();
  cleanups.push(() => b.close());
  return b;
}

/** What a user's `req.query.project.toLowerCase()` throws on a missing parameter. */
function missingParameter(): never {
  const query: { project?: string } = {};
  return query.project!.toLowerCase() as never;
}

/** Silences console.error for the test and returns the spy. */
function quietLog() {
  const log = vi.spyOn(console, "error").mockImplementation(() => {});
  cleanups.push(() => log.mockRestore());
  return log;
}

describe("onError: bugs in a topic function or authorize are answered 500 and reported", () => {
  it.each([
    ["a topic function that throws", { topics: missingParameter, authorize: undefined }],
    [
      "a topic function that rejects",
      {
        topics: async () => {
          await tick();
          return missingParameter();
        },
        authorize: undefined,
      },
    ],
    ["an authorize that throws", { topics: () => "news", authorize: missingParameter }],
    [
      "an authorize that rejects with a 5xx status",
      {
        topics: () => "news",
        authorize: async () => {
          throw Object.assign(new Error("session store down"), { status: 503 });
        },
      },
    ],
  ])("%s: the client gets no internals, onError gets (error, req) once", async (_name, how) => {
    const log = quietLog();
    const b = broker();
    const reported: [unknown, IncomingMessage][] = [];
    const onError: OnError<IncomingMessage> = (error, req) => reported.push([error, req]);
    const { url } = await serve(
      handlerFunc(b, how.topics, { onError, ...(how.authorize && { authorize: how.authorize }) }),
    );
    const response = await fetch(`${url}/events?project=`);
    const body = await response.text();
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(body).toMatch(/^sse: (internal error|error 503)$/);
    expect(reported).toHaveLength(1);
    expect(reported[0]![0]).toBeInstanceOf(Error);
    expect(reported[0]![1].url).toBe("/events?project=");
    expect(b.stats().clients).toBe(0);
    expect(log).not.toHaveBeenCalled();
  });

  it("by default logs each failure once with the method and path, never the query", async () => {
    const log = quietLog();
    const b = broker();
    const { url } = await serve(handlerFunc(b, missingParameter));
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${url}/projects/events?token=hunter2`);
      expect([response.status, await response.text()]).toEqual([500, "sse: internal error"]);
    }
    expect(log).toHaveBeenCalledTimes(2);
    for (const call of log.mock.calls) {
      expect(call).toEqual([
        "sse: could not serve an event stream (GET /projects/events):",
        expect.any(TypeError),
      ]);
    }
    expect(JSON.stringify(log.mock.calls)).not.toContain("hunter2");
  });

  it("does not report refusals: 4xx from the callbacks, 405, 400, 403, 503, 429", async () => {
    const log = quietLog();
    const b = broker();
    const onError = vi.fn();
    const refuse = (status: number) => {
      throw Object.assign(new Error(`refused ${status}`), { status });
    };
    const routes: Record<string, Listener> = {
      "/401": handlerFunc(b, () => refuse(401), { onError }),
      "/403": handler(b, "news", { onError, authorize: () => false }),
      "/400": handlerFunc(b, () => [], { onError }),
      "/full": handler(b, "news", { onError, maxClients: 1, keepaliveMs: 0 }),
    };
    const { url, port } = await serve((req, res) => routes[req.url!]!(req, res));
    const open = rawClient(port, "/full");
    cleanups.push(() => open.close());
    await open.ready;
    const statuses = [];
    for (const [path, method] of [
      ["/401", "GET"],
      ["/403", "GET"],
      ["/400", "GET"],
      ["/full", "GET"],
      ["/403", "POST"],
    ] as const) {
      const response = await fetch(`${url}${path}`, { method });
      await response.text();
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 403, 400, 503, 405]);
    expect(onError).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it("called connect-style, passes the error to next(err) with nothing answered, and logs nothing", async () => {
    const log = quietLog();
    const b = broker();
    const events = handlerFunc(b, missingParameter);
    const nexts: { error: unknown; headersSent: boolean }[] = [];
    const { url } = await serve((req, res) => {
      events(req, res, (error) => {
        nexts.push({ error, headersSent: res.headersSent });
        res.writeHead(500).end("the app's answer");
      });
    });
    const response = await fetch(`${url}/events`);
    expect([response.status, await response.text()]).toEqual([500, "the app's answer"]);
    expect(nexts).toHaveLength(1);
    expect(nexts[0]!.error).toBeInstanceOf(TypeError);
    expect(nexts[0]!.headersSent).toBe(false);
    expect(log).not.toHaveBeenCalled();
  });

  it("a user's onError wins over next", async () => {
    const b = broker();
    const onError = vi.fn();
    const next = vi.fn();
    const events = handlerFunc(b, missingParameter, { onError });
    const { url } = await serve((req, res) => events(req, res, next));
    expect((await fetch(`${url}/`)).status).toBe(500);
    await waitFor(() => onError.mock.calls.length === 1, "onError");
    expect(next).not.toHaveBeenCalled();
  });

  it("an onError that throws is logged; the client still has its 500 and the server lives", async () => {
    const log = quietLog();
    const b = broker();
    const { url } = await serve(
      handlerFunc(b, missingParameter, {
        onError: () => {
          throw new Error("reporter down");
        },
      }),
    );
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/`)).status).toBe(500);
    expect(log).toHaveBeenCalledTimes(2);
    expect(log.mock.calls[0]![0]).toBe("sse: onError threw while reporting");
  });

  it("serveEvents reports to onError with the subject it was given", async () => {
    const subject = { user: "ann" };
    const onError = vi.fn();
    const { url } = await serve((req, res) => {
      void serveEvents(req, res, broker(), missingParameter, { onError }, subject);
    });
    expect((await fetch(`${url}/`)).status).toBe(500);
    await waitFor(() => onError.mock.calls.length === 1, "onError");
    expect(onError.mock.calls[0]![1]).toBe(subject);
  });
});

describe("onError on the fetch standard and for request streams", () => {
  it("fetchHandler answers 500 and reports (error, request); by default it logs once", async () => {
    const log = quietLog();
    const b = broker();
    const onError = vi.fn();
    const reported = fetchHandler(b, missingParameter, { onError });
    const request = new Request("http://x/events?token=hunter2");
    const response = await reported(request);
    expect([response.status, await response.text()]).toEqual([500, "sse: internal error"]);
    expect(onError).toHaveBeenCalledWith(expect.any(TypeError), request);

    const logged = fetchHandler(b, "news", { authorize: missingParameter });
    expect((await logged(new Request("http://x/events?token=hunter2"))).status).toBe(500);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith(
      "sse: could not serve an event stream (GET /events):",
      expect.any(TypeError),
    );
  });

  it("streamHandler: an authorize that throws answers 500 and goes to onError, or to next unanswered", async () => {
    const log = quietLog();
    const produce = vi.fn();
    const onError = vi.fn();
    const withOnError = streamHandler(produce, { authorize: missingParameter, onError });
    const withNext = streamHandler(produce, { authorize: missingParameter });
    const next = vi.fn(
      (
        _error: unknown,
        res: { headersSent: boolean; writeHead(s: number): { end(t: string): void } },
      ) => {
        expect(res.headersSent).toBe(false);
        res.writeHead(500).end("the app's answer");
      },
    );
    const { url } = await serve((req, res) =>
      req.url === "/next"
        ? void withNext(req, res, undefined, (error) => next(error, res))
        : void withOnError(req, res),
    );
    const answers: [number, string][] = [];
    for (const path of ["/on-error", "/next"]) {
      const response = await fetch(`${url}${path}`, { method: "POST" });
      answers.push([response.status, await response.text()]);
    }
    expect(answers).toEqual([
      [500, "sse: internal error"],
      [500, "the app's answer"],
    ]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(next).toHaveBeenCalledTimes(1);
    expect(next.mock.calls[0]![0]).toBeInstanceOf(TypeError);
    expect(produce).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });
});
