import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect } from "node:net";
import { cleanupAfterEach, listen, parseSSE, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import {
  fetchStreamHandler,
  type RequestStream,
  SSEFieldError,
  SSEOptionError,
  streamHandler,
} from "../index.js";

const cleanups = cleanupAfterEach();

async function serve(serveOne: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const server = await listen((req, res) => void serveOne(req, res));
  cleanups.push(() => server.close());
  return server;
}

/** POSTs and reads the whole streamed answer. */
async function post(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { method: "POST", ...init });
  const text = await response.text();
  return { response, text, ...parseSSE(text) };
}

describe("streamHandler: one request's own stream", () => {
  it("streams a producer's progress and result to a POST, unnamed unless typed, then ends", async () => {
    const server = await serve(
      streamHandler(async (stream, req) => {
        expect(req.method).toBe("POST");
        for (const pct of [10, 50, 100]) {
          expect(await stream.send({ data: `<progress value="${pct}"></progress>` })).toBe(true);
        }
        await stream.send({ type: "done", data: "<p>ready</p>", id: "r1" });
      }),
    );
    const { response, events, text } = await post(`${server.url}/reports`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(events.map((e) => [e.event, e.data])).toEqual([
      [undefined, '<progress value="10"></progress>'],
      [undefined, '<progress value="50"></progress>'],
      [undefined, '<progress value="100"></progress>'],
      ["done", "<p>ready</p>"],
    ]);
    expect(text).not.toContain("retry:");
  });

  it("aborts the producer's signal and resolves send false when the client leaves", async () => {
    let seen: RequestStream | undefined;
    let sentAfter: boolean | undefined;
    const finished = vi.fn();
    const server = await serve(
      streamHandler(async (stream) => {
        seen = stream;
        await stream.send({ data: "started" });
        await once(stream.signal, "abort");
        sentAfter = await stream.send({ data: "too late" });
        finished();
      }),
    );
    const controller = new AbortController();
    const response = await fetch(`${server.url}/r`, { method: "POST", signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("started");
    controller.abort();
    await waitFor(() => finished.mock.calls.length === 1, "producer saw the abort");
    expect(seen?.closed).toBe(true);
    expect(sentAfter).toBe(false);
  });

  it("paces an awaiting producer to a client that does not read (backpressure)", async () => {
    let response: ServerResponse | undefined;
    let sent = 0;
    let mostOwed = 0;
    const chunk = "x".repeat(64 * 1024);
    const serveOne = streamHandler(async (stream) => {
      while (!stream.closed && sent < 200) {
        if (await stream.send({ data: chunk })) sent++;
        mostOwed = Math.max(mostOwed, response?.writableLength ?? 0);
      }
    });
    const server = await listen((req, res) => {
      response = res;
      void serveOne(req, res);
    });
    cleanups.push(() => server.close());
    const socket = connect(server.port, "127.0.0.1");
    socket.write(`POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    await once(socket, "data");
    socket.pause();
    await waitFor(() => (response?.writableLength ?? 0) > 0, "the response backs up");
    let received = 0;
    socket.on("data", (data: Buffer) => {
      received += data.length;
    });
    socket.resume();
    await waitFor(() => sent === 200, "every event sent once the client reads");
    await waitFor(() => received >= 199 * 64 * 1024, "the rest received");
    // Each send waited for room: the response never owed more than one event past its buffer.
    expect(mostOwed).toBeLessThanOrEqual(response!.writableHighWaterMark + 2 * (64 * 1024 + 16));
    socket.destroy();
  });

  it("a producer that does not await is bounded by bufferSize: the excess is refused, not queued", async () => {
    let results: boolean[] = [];
    const server = await serve(
      streamHandler(
        async (stream) => {
          const big = "y".repeat(64 * 1024);
          results = await Promise.all(
            Array.from({ length: 200 }, () => stream.send({ data: big })),
          );
        },
        { bufferSize: 4 },
      ),
    );
    const socket = connect(server.port, "127.0.0.1");
    socket.write(`POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    await once(socket, "data");
    socket.pause();
    await waitFor(() => results.length === 200, "every send settled");
    expect(results.filter((r) => !r).length).toBeGreaterThan(150);
    socket.destroy();
  });

  it("answers 403, 503 and 429 by its own limits and frees its slots", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve(
      streamHandler(
        async (stream) => {
          await stream.send({ data: "hi" });
          await gate;
        },
        {
          maxClients: 2,
          authorize: (req) => req.headers["x-user"] !== "bob",
        },
      ),
    );
    expect((await post(server.url, { headers: { "x-user": "bob" } })).response.status).toBe(403);
    const open = [fetch(server.url, { method: "POST" }), fetch(server.url, { method: "POST" })];
    const [a, b] = await Promise.all(open);
    expect([a!.status, b!.status]).toEqual([200, 200]);
    const third = await post(server.url);
    expect(third.response.status).toBe(503);
    expect(third.response.headers.get("retry-after")).toBe("5");
    release();
    await Promise.all([a!.text(), b!.text()]);
    expect((await post(server.url)).response.status).toBe(200);

    const perAddress = await serve(streamHandler(async () => gate, { maxClientsPerAddress: 1 }));
    // gate is already released: streams end at once; one at a time is fine.
    expect((await post(perAddress.url)).response.status).toBe(200);
  });

  it("429 past maxClientsPerAddress while a stream of the same address is open", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve(streamHandler(() => gate, { maxClientsPerAddress: 1 }));
    const first = await fetch(server.url, { method: "POST" });
    expect(first.status).toBe(200);
    expect((await post(server.url)).response.status).toBe(429);
    release();
    await first.text();
  });

  it("reports a failing producer to onError and ends the stream cleanly", async () => {
    const onError = vi.fn();
    const server = await serve(
      streamHandler(
        async (stream) => {
          await stream.send({ data: "before" });
          throw new Error("boom");
        },
        { onError },
      ),
    );
    const { events, response } = await post(server.url);
    expect(response.status).toBe(200);
    expect(events.map((e) => e.data)).toEqual(["before"]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect((onError.mock.calls[0]![0] as Error).message).toBe("boom");
    expect(onError.mock.calls[0]![1]).toMatchObject({ method: "POST" });
  });

  it("by default logs a failing producer with the request's method and path", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    cleanups.push(() => log.mockRestore());
    const server = await serve(
      streamHandler(() => {
        throw new Error("kaput");
      }),
    );
    await post(`${server.url}/reports/7`);
    expect(log).toHaveBeenCalledWith(
      "sse: a stream producer failed (POST /reports/7):",
      expect.objectContaining({ message: "kaput" }),
    );
  });

  it("send throws SSEFieldError for an event that could forge a field", async () => {
    let thrown: unknown;
    const server = await serve(
      streamHandler(async (stream) => {
        try {
          await stream.send({ type: "a\nb" });
        } catch (err) {
          thrown = err;
        }
      }),
    );
    await post(server.url);
    expect(SSEFieldError.isInstance(thrown)).toBe(true);
  });

  it("sends keepalive comments while the producer waits", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve(streamHandler(() => gate, { keepaliveMs: 20 }));
    const client = rawClient(server.port, "/report");
    cleanups.push(() => client.close());
    await waitFor(() => client.comments.includes("keepalive"), "a keepalive");
    release();
    await waitFor(() => client.finished, "the stream ends with its producer");
  });

  it("never starts a producer for a client that left before it ran", async () => {
    const produce = vi.fn();
    const serveOne = streamHandler(produce);
    let arrived = false;
    let served: Promise<void> | undefined;
    const server = await listen((req, res) => {
      arrived = true;
      // An async middleware in front: the client leaves while it works.
      req.socket.once("close", () => {
        served = serveOne(req, res);
      });
    });
    cleanups.push(() => server.close());
    const socket = connect(server.port, "127.0.0.1");
    socket.write("POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    await waitFor(() => arrived, "the request reached the server");
    socket.destroy();
    await waitFor(() => served !== undefined, "served after the client left");
    await served;
    expect(produce).not.toHaveBeenCalled();
  });

  it("refuses bad options and a missing producer at creation, naming them", () => {
    const cases: [() => unknown, RegExp][] = [
      [() => streamHandler(undefined as never), /sse: produce: must be a function/],
      [() => streamHandler(() => {}, { bufferSize: "8" as never }), /bufferSize: .*got "8"/],
      [
        () => streamHandler(() => {}, { keepAlive: 5 } as never),
        /keepAlive: is not a stream option/,
      ],
      [
        () => streamHandler(() => {}, { authorize: true as never }),
        /authorize: must be a function/,
      ],
      [() => streamHandler(() => {}, { slowClient: "fast" as never }), /slowClient: .*got "fast"/],
      [() => streamHandler(() => {}, 5000 as never), /options: must be an object/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(SSEOptionError);
      expect(make).toThrow(message);
    }
  });
});

describe("streamHandler: gone and pipelined requests", () => {
  it("a live POST whose body was read before an async authorize still streams", async () => {
    const server = await serve(
      streamHandler(
        async (stream) => {
          await stream.send({ data: "ok" });
        },
        {
          authorize: async (req) => {
            let body = "";
            for await (const chunk of req) body += chunk;
            await new Promise((resolve) => setTimeout(resolve, 20));
            return body === "go";
          },
        },
      ),
    );
    const { response, events } = await post(server.url, { body: "go" });
    expect(response.status).toBe(200);
    expect(events.map((e) => e.data)).toEqual(["ok"]);
  });

  it("a request pipelined behind another is answered 503 in its turn and never produced", async () => {
    const produce = vi.fn(async (stream: RequestStream) => {
      await stream.send({ data: "first" });
    });
    const server = await serve(streamHandler(produce));
    const socket = connect(server.port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    const request = "POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    socket.write(request + request);
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    await waitFor(() => /HTTP\/1\.1 503/.test(text), "the second answer");
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(produce).toHaveBeenCalledTimes(1);
  });
});

describe("fetchStreamHandler", () => {
  it("streams a producer's events as a Response body, and ends with it", async () => {
    const report = fetchStreamHandler(async (stream, request) => {
      expect(request.method).toBe("POST");
      for (const n of [1, 2]) await stream.send({ data: `<p>${n}</p>` });
    });
    const response = await report(new Request("http://x/reports", { method: "POST" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(await response.text()).toBe("data: <p>1</p>\n\ndata: <p>2</p>\n\n");
  });

  it("aborting the request aborts the producer's signal", async () => {
    let aborted = false;
    const controller = new AbortController();
    const report = fetchStreamHandler(async (stream) => {
      await stream.send({ data: "started" });
      await once(stream.signal, "abort");
      aborted = true;
    });
    const response = await report(new Request("http://x/", { signal: controller.signal }));
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await waitFor(() => aborted, "the producer saw the abort");
  });

  it("answers 403 and 503 by its options, and refuses bad ones at creation", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const report = fetchStreamHandler(() => gate, {
      maxClients: 1,
      authorize: (request) => request.headers.get("x-user") !== "bob",
    });
    const bob = await report(new Request("http://x/", { headers: { "x-user": "bob" } }));
    expect(bob.status).toBe(403);
    const first = await report(new Request("http://x/"));
    expect(first.status).toBe(200);
    expect((await report(new Request("http://x/"))).status).toBe(503);
    release();
    await first.text();
    expect(() => fetchStreamHandler("nope" as never)).toThrow(SSEOptionError);
    expect(() => fetchStreamHandler(() => {}, { buffersize: 1 } as never)).toThrow(/buffersize/);
  });
});

describe("streamHandler: the connection after the stream", () => {
  it("keeps a keep-alive connection reusable once the producer is done", async () => {
    const server = await serve(
      streamHandler(async (stream) => {
        await stream.send({ data: "done" });
      }),
    );
    const socket = connect(server.port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    const request = "POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    socket.write(request);
    await waitFor(() => text.includes("0\r\n\r\n"), "the first stream ends");
    expect(text).toMatch(/Connection: keep-alive/i);
    socket.write(request);
    await waitFor(
      () => text.split("data: done").length === 3,
      "a second stream on the same connection",
    );
    expect(socket.destroyed).toBe(false);
  });
});
