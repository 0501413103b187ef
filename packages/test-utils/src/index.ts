/**
 * Shared test helpers for the Burrow SSE packages: real servers on loopback,
 * real SSE clients (the `eventsource` package and a raw TCP client parsed by
 * `eventsource-parser`), and a condition poller. Not published.
 */
import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { EventSource } from "eventsource";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { afterEach, vi } from "vitest";

export type { EventSourceMessage };
export { EventSource };

/** A server listening on 127.0.0.1 on a free port. */
export interface TestServer {
  server: Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Closes the server, dropping any connection still open. */
  close(): Promise<void>;
}

/** Starts `listenerOrServer` on 127.0.0.1 on a free port. */
export async function listen(listenerOrServer: RequestListener | Server): Promise<TestServer> {
  const server =
    typeof listenerOrServer === "function" ? createServer(listenerOrServer) : listenerOrServer;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Registers an `afterEach` that runs, newest first, every cleanup pushed onto
 * the returned list during a test (so clients close before their server).
 */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/**
 * Records every client `broker.subscribe()` returns from now on (in the
 * order the requests reached the broker), still calling the real method.
 */
export function recordSubscriptions<C>(broker: { subscribe(...args: never[]): C }): C[] {
  const clients: C[] = [];
  const subscribe = broker.subscribe.bind(broker) as (...args: unknown[]) => C;
  vi.spyOn(broker, "subscribe").mockImplementation(((...args: unknown[]) => {
    const client = subscribe(...args);
    clients.push(client);
    return client;
  }) as never);
  return clients;
}

/** The next `n` values of `iterable` (fewer if it ends first), e.g. a broker client's events. */
export async function take<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const it = iterable[Symbol.asyncIterator]();
  const out: T[] = [];
  while (out.length < n) {
    const { value, done } = await it.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

/** Runs `fn` and returns what it throws; fails the test when it throws nothing. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error, nothing was thrown");
}

/** Awaits `promise` and returns what it rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection, the promise resolved");
    },
    (err: unknown) => err,
  );
}

/**
 * Polls `predicate` until it holds; rejects after `timeoutMs` with `message`.
 * The timeout only guards against a hang: tests assert on state, never on time.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  message = "condition",
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`waitFor: timed out waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An `eventsource` client that records every event of the named types. */
export interface RecordingEventSource {
  source: EventSource;
  /** Every event received, in order, of the types listened to. */
  events: EventSourceMessage[];
  /** Resolves once the connection is open. */
  opened: Promise<void>;
  /** Number of `error` events seen (each reconnect attempt fires one). */
  errors: number;
  /** Waits until at least `n` events arrived. */
  waitForCount(n: number): Promise<EventSourceMessage[]>;
  close(): void;
}

/**
 * Opens `url` with the `eventsource` package (a spec-compliant client) and
 * records events of `types` (default: `message`).
 */
export function recordEvents(
  url: string,
  types: readonly string[] = ["message"],
  init: ConstructorParameters<typeof EventSource>[1] = {},
): RecordingEventSource {
  const source = new EventSource(url, init);
  const rec: RecordingEventSource = {
    source,
    events: [],
    errors: 0,
    opened: new Promise((resolve) =>
      source.addEventListener("open", () => resolve(), { once: true }),
    ),
    waitForCount: async (n) => {
      await waitFor(
        () => rec.events.length >= n,
        `${n} events from ${url} (have ${rec.events.length})`,
      );
      return rec.events;
    },
    close: () => source.close(),
  };
  source.addEventListener("error", () => {
    rec.errors++;
  });
  for (const type of types) {
    source.addEventListener(type, (event) => {
      rec.events.push({ event: event.type, data: event.data, id: event.lastEventId });
    });
  }
  return rec;
}

/** A raw TCP SSE client: the bytes received, parsed by `eventsource-parser`. */
export interface RawClient {
  socket: Socket;
  /** Response head (status line and headers), once received. */
  head: string;
  /** Body bytes received (after the head, chunked framing removed). */
  body: string;
  events: EventSourceMessage[];
  comments: string[];
  /** True once the chunked body ended (the server ended the response). */
  finished: boolean;
  /** Resolves when the response head arrived. */
  ready: Promise<void>;
  /** Resolves when the server closed the connection. */
  ended: Promise<void>;
  close(): void;
}

/**
 * Sends `GET path` on a plain socket and parses the chunked SSE body. With
 * `read: false` the socket is paused right after the head and never read, so
 * the server's writes back up (a stuck client).
 */
export function rawClient(
  port: number,
  path = "/",
  options: { read?: boolean; headers?: Record<string, string> } = {},
): RawClient {
  const socket = connect(port, "127.0.0.1");
  const extra = Object.entries(options.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${extra}\r\n`,
  );
  let buffered = Buffer.alloc(0);
  let headDone = false;
  let resolveReady!: () => void;
  const client: RawClient = {
    socket,
    head: "",
    body: "",
    events: [],
    comments: [],
    finished: false,
    ready: new Promise((resolve) => {
      resolveReady = resolve;
    }),
    ended: new Promise((resolve) => socket.once("close", () => resolve())),
    close: () => socket.destroy(),
  };
  const parser = createParser({
    onEvent: (event) => client.events.push(event),
    onComment: (comment) => client.comments.push(comment),
  });
  const decoder = new TextDecoder();
  // Decode HTTP/1.1 chunked framing by hand: the point is to see exact bytes.
  const drainChunks = (): void => {
    for (;;) {
      const lineEnd = buffered.indexOf("\r\n");
      if (lineEnd === -1) return;
      const size = Number.parseInt(buffered.subarray(0, lineEnd).toString("latin1"), 16);
      if (Number.isNaN(size) || buffered.length < lineEnd + 2 + size + 2) return;
      if (size === 0) client.finished = true;
      const data = buffered.subarray(lineEnd + 2, lineEnd + 2 + size);
      buffered = buffered.subarray(lineEnd + 2 + size + 2);
      const text = decoder.decode(data, { stream: true });
      client.body += text;
      parser.feed(text);
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!headDone) {
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.head = buffered.subarray(0, end).toString("latin1");
      buffered = buffered.subarray(end + 4);
      headDone = true;
      resolveReady();
      if (options.read === false) {
        socket.pause();
        return;
      }
    }
    drainChunks();
  });
  socket.on("error", () => {});
  return client;
}

/** Parses a complete SSE text with `eventsource-parser`. */
export function parseSSE(text: string): { events: EventSourceMessage[]; comments: string[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onComment: (comment) => comments.push(comment),
  });
  parser.feed(text);
  return { events, comments };
}

export type { AdapterHarness, SuiteBroker } from "./adapter-suite.js";
export { APP_ERROR_PAGE, describeAdapter } from "./adapter-suite.js";
export type { Gate, PipelinedClient, SocketCount } from "./connections.js";
export { gate, pipelined, trackSockets } from "./connections.js";
export { fromFetch } from "./fetch-bridge.js";
export type { HandBackplane, HandReport, HandState } from "./hand-backplane.js";
export { handBackplane } from "./hand-backplane.js";
export { describeQuickStart, startExample } from "./quick-start-suite.js";
export type { DroppingBroker } from "./slow-client.js";
export { blockStream, readUntil } from "./slow-client.js";
export { type TcpProxy, tcpProxy } from "./tcp-proxy.js";
export { type TopicHandlerFunc, topicAnswer } from "./topic-answer.js";
