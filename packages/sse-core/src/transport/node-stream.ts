import { type IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { EventStream, type StreamTiming } from "../delivery/event-stream.js";
import type { FlushPass } from "../delivery/flush-pass.js";
import type { Subscription } from "../delivery/subscription.js";
import type { FrameFormat } from "../wire/frame.js";
import type { AnyResponse, SSERequest, SSEResponse } from "./sse-request.js";
import { STREAM_HEADERS } from "./stream-headers.js";

/** How {@link streamTo} runs one stream. @internal */
export interface NodeStreamOptions {
  timing: StreamTiming;
  /** How frames become bytes (htmx 4 messages); default: named events. */
  format?: FrameFormat;
  /** Everything queued so far was handed to the connection. */
  idle?: () => void;
  /**
   * A graceful end means a shutdown (the broker closed), so a keep-alive
   * HTTP/1.x connection is closed after it. False for a stream whose end is
   * its normal outcome (a request stream): its connection stays reusable.
   * @default true
   */
  endClosesConnection?: boolean;
}

/**
 * Streams `client` on a `node:http` (or `node:http2` compatibility)
 * response: writes the head, connects one {@link EventStream} to the
 * connection (straight to the socket where it can): a {@link NodeStream},
 * which also wires drain, close and error. The only code that
 * touches Node's response and socket for a stream, broker or
 * request-scoped. @internal
 */
export function streamTo(
  req: SSERequest,
  response: SSEResponse,
  client: Subscription,
  { timing, format, idle, endClosesConnection = true }: NodeStreamOptions,
): void {
  const res = response as AnyResponse;
  const headers: Record<string, string> = { ...STREAM_HEADERS };
  const http1 = req.httpVersionMajor === 1;
  const socket = http1 ? (req as IncomingMessage).socket : undefined;
  if (socket !== undefined) {
    // A stream opened after the broker closed ends at once: its connection must
    // not carry the browser's next attempt back here, or server.close() waits.
    headers.Connection = client.closed ? "close" : "keep-alive";
    socket.setNoDelay(true);
    // The head and what the stream writes at once (a `:resuming` comment, a
    // replay held in memory) leave in one write: one system call per
    // connection fewer when thousands connect at once.
    socket.cork();
  }
  try {
    res.writeHead(200, headers);
    res.flushHeaders?.();
    const stream = new NodeStream(res, client, endClosesConnection && http1, idle, timing, format);
    stream.start();
    if (!client.closed) stream.listen();
  } finally {
    socket?.uncork();
  }
}

/** Where a response (or its socket) keeps its {@link NodeStream}, for the shared listeners. */
const SINK = Symbol("sse.sink");

type Listened = NodeJS.EventEmitter & { [SINK]?: NodeStream | undefined };

/**
 * One stream on Node: an {@link EventStream} whose transport writes chunks (pre-framed, straight to the
 * socket where it can: that skips, per client and write, the response's
 * chunk framing, cork and nextTick uncork; the framing is built once per
 * flush and shared by every client, see docs/performance.md), ends the
 * response, and is found by three listeners shared by every stream (close
 * and error on the response; drain, only while a write waits for it), so an
 * idle connection holds no closure and no drain listener of its own.
 */
class NodeStream extends EventStream {
  private readonly socket: Socket | undefined;
  /** True while a refused write waits for the drainer's `drain`. */
  private awaitingDrain = false;

  constructor(
    private readonly res: AnyResponse,
    client: Subscription,
    /** A graceful end (a shutdown) closes the HTTP/1.x connection after it. */
    private readonly closeOnShutdown: boolean,
    private readonly onIdle: (() => void) | undefined,
    timing: StreamTiming,
    format: FrameFormat | undefined,
  ) {
    super(client, timing, res.writableHighWaterMark, format);
    this.socket = directSocket(res);
  }

  /** Where `drain` is emitted: the socket written to, else the response. */
  private get drainer(): Listened {
    return this.socket ?? this.res;
  }

  listen(): void {
    const res = this.res as Listened;
    res[SINK] = this;
    res.on("close", onGone);
    res.on("error", onGone);
  }

  protected send(chunk: Uint8Array, pass: FlushPass): boolean {
    const socket = this.socket;
    const written =
      socket === undefined
        ? this.res.write(chunk)
        : // Not writable once destroyed, or ended by Node when the client half-closed
          // (its "close" comes later): writing then would be an error on the socket.
          !socket.writable || socket.write(pass.encode(chunk, framed));
    if (!written) this.awaitDrain();
    return written;
  }

  /** The drainer emitted `drain`: the stream may write again. */
  override drained(): void {
    this.stopAwaitingDrain();
    super.drained();
  }

  private awaitDrain(): void {
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    const drainer = this.drainer;
    drainer[SINK] = this;
    drainer.on("drain", onDrain);
  }

  private stopAwaitingDrain(): void {
    if (!this.awaitingDrain) return;
    this.awaitingDrain = false;
    const drainer = this.drainer;
    drainer.removeListener("drain", onDrain);
    if (drainer !== this.res && drainer[SINK] === this) drainer[SINK] = undefined;
  }

  protected override idle(): void {
    this.onIdle?.();
  }

  protected finish(closing: boolean): void {
    const res = this.res;
    this.stopAwaitingDrain();
    res.removeListener("close", onGone);
    res.removeListener("error", onGone);
    (res as Listened)[SINK] = undefined;
    if (res.writableEnded || res.destroyed) return;
    // The broker closed (shutdown): close a keep-alive HTTP/1.x connection
    // once the stream's last bytes are out, so that server.close() completes
    // and the browser reconnects on a new connection, to a new server.
    const connection = closing && this.closeOnShutdown ? res.socket : null;
    res.end(connection ? () => connection.end() : undefined);
  }

  /** The response closed or failed: the client left. */
  gone(): void {
    this.client.leave();
  }
}

function onDrain(this: Listened): void {
  this[SINK]?.drained();
}

function onGone(this: Listened): void {
  this[SINK]?.gone();
}

/**
 * The socket of a plain `node:http` chunked response whose head is sent and
 * whose `write`/`end` nobody wrapped (compression or logging middleware):
 * framed chunks may then go straight to it. Undefined otherwise (HTTP/2,
 * HTTP/1.0, a patched response), and the response's own `write` is used.
 */
function directSocket(res: AnyResponse): Socket | undefined {
  if (!(res instanceof ServerResponse)) return undefined;
  const socket = res.socket;
  if (
    socket === null ||
    socket.destroyed ||
    res.chunkedEncoding !== true ||
    !res.headersSent ||
    res.write !== ServerResponse.prototype.write ||
    res.end !== ServerResponse.prototype.end ||
    res.writableLength !== socket.writableLength
  ) {
    return undefined;
  }
  return socket;
}

const CRLF = 0x0d0a;

/**
 * `chunk` as one HTTP/1.1 chunk (`<hex length>\r\n<bytes>\r\n`); a fan-out
 * writes one chunk to many sockets in a row, so the sink asks its flush pass
 * for it ({@link FlushPass.encode}) and it is built once per pass.
 */
function framed(chunk: Uint8Array): Buffer {
  const head = `${chunk.byteLength.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(head.length + chunk.byteLength + 2);
  out.write(head, 0, "latin1");
  out.set(chunk, head.length);
  out.writeUInt16BE(CRLF, out.length - 2);
  return out;
}
