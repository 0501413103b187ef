import { connect, type Socket } from "node:net";
import { EventSource } from "eventsource";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { waitFor } from "./waits.js";

export type { EventSourceMessage };
export { EventSource };

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
 * the server's writes back up (a stuck client). With `pipelined`, a `GET` of each
 * of those paths (same headers) is pipelined behind it in the same write.
 */
export function rawClient(
  port: number,
  path = "/",
  options: { read?: boolean; headers?: Record<string, string>; pipelined?: readonly string[] } = {},
): RawClient {
  const socket = connect(port, "127.0.0.1");
  const extra = Object.entries(options.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.write(
    [path, ...(options.pipelined ?? [])]
      .map(
        (each) =>
          `GET ${each} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${extra}\r\n`,
      )
      .join(""),
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
