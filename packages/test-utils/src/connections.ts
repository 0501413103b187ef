/**
 * Connection-level attacks on a server: several requests pipelined on one
 * keep-alive socket, clients that leave while the server is still busy with
 * their request, and a count of the server's sockets to know when it has seen
 * every one of them close.
 */
import type { Server } from "node:http";
import { connect, type Socket } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { waitFor } from "./waits.js";

/** One connection carrying several pipelined requests. */
export interface PipelinedClient {
  socket: Socket;
  /** Every byte received so far, as latin1 text (heads and bodies of every answer). */
  received: string;
  /** Resolves with the first response head (status line and headers) once it arrived. */
  firstHead: Promise<string>;
  close(): void;
}

/**
 * Opens one connection and sends a `GET` for each of `paths` in a single
 * write (HTTP/1.1 pipelining: no request waits for the previous answer).
 */
export function pipelined(
  port: number,
  paths: readonly string[],
  headers: Record<string, string> = {},
): PipelinedClient {
  const socket = connect(port, "127.0.0.1");
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.write(
    paths
      .map(
        (path) =>
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${extra}\r\n`,
      )
      .join(""),
  );
  let resolveHead!: (head: string) => void;
  const client: PipelinedClient = {
    socket,
    received: "",
    firstHead: new Promise((resolve) => {
      resolveHead = resolve;
    }),
    close: () => socket.destroy(),
  };
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    client.received += chunk;
    const end = client.received.indexOf("\r\n\r\n");
    if (end !== -1) resolveHead(client.received.slice(0, end));
  });
  socket.on("error", () => {});
  return client;
}

/** The sockets a server accepted, counted from the moment {@link trackSockets} was called. */
export interface SocketCount {
  /** Sockets accepted so far. */
  readonly accepted: number;
  /** Of those, the ones that have closed. */
  readonly closed: number;
  /**
   * Resolves once every accepted socket has closed and the server has
   * handled each close (the responses' and requests' own `close` events ran).
   */
  allClosed(message?: string): Promise<void>;
}

/** Starts counting the sockets `server` accepts and sees close. */
export function trackSockets(server: Server): SocketCount {
  let accepted = 0;
  let closed = 0;
  server.on("connection", (socket: Socket) => {
    accepted++;
    socket.once("close", () => {
      closed++;
    });
  });
  return {
    get accepted() {
      return accepted;
    },
    get closed() {
      return closed;
    },
    async allClosed(message = "the server to see every socket close") {
      await waitFor(() => closed === accepted, `${message} (${closed} of ${accepted})`);
      // This listener ran before Node's own close handling of the response
      // (registered later, when the response got the socket): let it run.
      await tick();
    },
  };
}

/** A promise held shut until `open()`: everything awaiting it settles in the same tick. */
export interface Gate {
  promise: Promise<void>;
  open(): void;
}

/** A new shut {@link Gate}. */
export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
