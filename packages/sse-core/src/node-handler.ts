import { type IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import { type Admission, admitRequest, limitsOf } from "./admission.js";
import type { EventBroker } from "./broker.js";
import type { Subscription } from "./client.js";
import { connectionState, readyToStream } from "./connection.js";
import { EventStream, timingOf } from "./event-stream.js";
import { ERROR_HEADERS, errorAnswer, lastEventIdOf, STREAM_HEADERS } from "./http.js";
import { checkTopicLimits } from "./limits.js";
import type { HandlerOptions } from "./options.js";
import { checkPresenceOption } from "./presence.js";
import { brokerFrom } from "./request-context.js";
import { type SwapFormat, swapFormatOf } from "./swap.js";
import { normalizeTopics, type Topics, type TopicsFn } from "./topics.js";

/** A request a handler accepts: `node:http`'s, or `node:http2`'s compatibility one. */
export type SSERequest = IncomingMessage | Http2ServerRequest;
/** A response a handler writes: `node:http`'s, or `node:http2`'s compatibility one. */
export type SSEResponse = ServerResponse | Http2ServerResponse;

type AnyResponse = ServerResponse & Http2ServerResponse;

/** The topics of one stream, or a function resolving them (sync or async). */
export type TopicsSource = Topics | (() => Topics | Promise<Topics>);

/**
 * Serves one event stream on a `node:http` (or `node:http2` compatibility)
 * response: checks the request (method, topics, limits, `authorize`),
 * subscribes, writes the headers, streams events until the client leaves or
 * the broker closes, and unsubscribes. The one function every handler and
 * framework adapter delegates to. Never throws: a problem becomes an HTTP
 * answer (405 for a method other than GET; 500 `sse: no broker in context`
 * when `broker` is undefined; a topic function's or `authorize`'s error
 * status; 400 for topics past the limits; 403 when `authorize` says no; 503
 * with `Retry-After` past `maxClients`; 429 past `maxClientsPerAddress`; 503
 * with `Connection: close` for a request pipelined behind another one on its
 * HTTP/1.1 connection). A client that is gone (it left before the handler
 * ran, or while its topics or `authorize` were awaited) is never subscribed
 * and gets nothing written.
 *
 * @param subject - what `options.authorize` receives (an adapter passes its
 *   framework's request, e.g. koa's `ctx`); defaults to `req`.
 * @returns a promise that resolves when the stream has ended.
 *
 * @example
 * ```ts
 * // the heart of a koa adapter
 * ctx.respond = false;
 * await serveEvents(ctx.req, ctx.res, brokerFrom(ctx.req), () => topicsFn(ctx), options, ctx);
 * ```
 */
export async function serveEvents<R = SSERequest>(
  req: SSERequest,
  res: SSEResponse,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  options: HandlerOptions<R> = {},
  subject?: R,
): Promise<void> {
  const response = res as AnyResponse;
  let admission: Admission | undefined;
  try {
    if (!readyToStream(req, response)) return;
    const timing = timingOf(options);
    const lastEventId = lastEventIdOf(req.headers["last-event-id"], req.url);
    admission = await admitRequest(
      {
        method: req.method,
        lastEventId,
        address: req.socket?.remoteAddress,
        htmx: req.headers["hx-request"] !== undefined,
      },
      broker,
      topics,
      options,
      limitsOf(options),
      subject ?? (req as R),
    );
    // Checked again, on state: the client may have left while the topics or
    // `authorize` were awaited, and its `close` event is not emitted twice.
    if (!readyToStream(req, response)) return;
    const client = admission.subscribe(lastEventId);
    await stream(req, response, admission.broker, client, timing, swapFormatOf(options));
  } catch (err) {
    if (response.headersSent || connectionState(req, response) === "gone") return;
    const { status, message, headers } = errorAnswer.of(err);
    // After shutdown, the connection must not carry the next attempt back here.
    const closing = broker?.closed === true && req.httpVersionMajor === 1;
    response.writeHead(status, {
      ...ERROR_HEADERS,
      ...headers,
      ...(closing ? { Connection: "close" } : {}),
    });
    response.end(message);
  } finally {
    admission?.cancel();
  }
}

function stream(
  req: SSERequest,
  res: AnyResponse,
  broker: EventBroker,
  client: Subscription,
  timing: ReturnType<typeof timingOf>,
  format: SwapFormat | undefined,
): Promise<void> {
  const headers: Record<string, string> = { ...STREAM_HEADERS };
  if (req.httpVersionMajor === 1) {
    // A stream opened after the broker closed ends at once: its connection must
    // not carry the browser's next attempt back here, or server.close() waits.
    headers.Connection = client.closed ? "close" : "keep-alive";
    (req as IncomingMessage).socket.setNoDelay(true);
  }
  res.writeHead(200, headers);
  res.flushHeaders?.();

  // Writing pre-framed chunks straight to the socket skips, per client and
  // write, the response's chunk framing, cork and nextTick uncork; the framing
  // is built once per chunk and shared by every client (see docs/performance.md).
  const socket = directSocket(res);
  const drainer: NodeJS.EventEmitter = socket ?? res;
  const onDrain = (): void => events.drained();
  const onGone = (): void => broker.unsubscribe(client);
  const events = new EventStream(
    client,
    {
      write:
        socket === undefined
          ? (chunk) => res.write(chunk)
          : (chunk) => socket.destroyed || socket.write(framed(chunk)),
      end: (closing) => {
        drainer.removeListener("drain", onDrain);
        res.removeListener("close", onGone);
        res.removeListener("error", onGone);
        if (res.writableEnded || res.destroyed) return;
        // The broker closed (shutdown): close a keep-alive HTTP/1.x connection
        // once the stream's last bytes are out, so that server.close() completes
        // and the browser reconnects on a new connection, to a new server.
        const connection = closing && req.httpVersionMajor === 1 ? res.socket : null;
        res.end(connection ? () => connection.end() : undefined);
      },
    },
    timing,
    res.writableHighWaterMark,
    format,
  );
  if (!client.closed) {
    drainer.on("drain", onDrain);
    res.on("close", onGone);
    res.on("error", onGone);
  }
  return client.done;
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
/** The last chunk framed and its framing: a fan-out writes one chunk to many sockets in a row. */
let lastFramed: { chunk: Uint8Array; framed: Buffer } | undefined;

/** `chunk` as one HTTP/1.1 chunk (`<hex length>\r\n<bytes>\r\n`), built once per chunk. */
function framed(chunk: Uint8Array): Buffer {
  if (lastFramed !== undefined && lastFramed.chunk === chunk) return lastFramed.framed;
  const head = `${chunk.byteLength.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(head.length + chunk.byteLength + 2);
  out.write(head, 0, "latin1");
  out.set(chunk, head.length);
  out.writeUInt16BE(CRLF, out.length - 2);
  lastFramed = { chunk, framed: out };
  return out;
}

/**
 * Validates handler options, throwing a `RangeError`/`TypeError` naming the
 * bad one. Handlers and adapters call it when they are created, so a typo
 * fails at startup, not on the first request.
 */
export function validateOptions<R>(options: HandlerOptions<R>): void {
  timingOf(options);
  limitsOf(options);
  swapFormatOf(options);
  checkPresenceOption(options.presence);
}

/**
 * Normalizes static topics (one or a list; duplicates collapse) and checks
 * them against `options`' limits, throwing at once for an empty list or a
 * topic the limits would refuse. For adapters, at handler creation.
 */
export function validateTopics<R>(
  topics: Topics,
  options: HandlerOptions<R> = {},
): readonly string[] {
  validateOptions(options);
  const list = normalizeTopics(topics);
  checkTopicLimits(list, limitsOf(options));
  return list;
}

/**
 * A `node:http` request handler that streams `topics` to every client.
 * Throws at once for an empty topic list or a bad option.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { EventBroker, handler } from "@burrow/sse-core";
 *
 * const broker = new EventBroker();
 * const events = handler(broker, ["notifications", "status"]);
 * createServer((req, res) => (req.url === "/events" ? events(req, res) : res.end())).listen(3000);
 * ```
 */
export function handler<R extends SSERequest = SSERequest>(
  broker: EventBroker,
  topics: Topics,
  options: HandlerOptions<R> = {},
): (req: R, res: SSEResponse) => void {
  const list = validateTopics(topics, options);
  return (req, res) => {
    void serveEvents(req, res, broker, list, options, req);
  };
}

/**
 * A `node:http` request handler whose topics depend on the request, e.g. a
 * room named in the URL. `topicsFn` may be async; one that throws answers 500
 * (or the error's `status`/`statusCode`) and subscribes nothing.
 *
 * @example
 * ```ts
 * const roomEvents = handlerFunc(broker, (req) => {
 *   const room = new URL(req.url ?? "/", "http://x").searchParams.get("room");
 *   return `room:${room}`;
 * });
 * ```
 */
export function handlerFunc<R extends SSERequest = IncomingMessage>(
  broker: EventBroker,
  topicsFn: TopicsFn<R>,
  options: HandlerOptions<R> = {},
): (req: R, res: SSEResponse) => void {
  validateOptions(options);
  return (req, res) => {
    void serveEvents(req, res, broker, () => topicsFn(req), options, req);
  };
}

/**
 * Like {@link handler}, with the broker taken from the request (put there by
 * {@link withBroker} or a broker middleware); a request without one is
 * answered 500 `sse: no broker in context`.
 *
 * @example
 * ```ts
 * const middleware = brokerMiddleware(broker);
 * const events = contextHandler("notifications");
 * createServer((req, res) => middleware(req, res, () => events(req, res)));
 * ```
 */
export function contextHandler<R extends SSERequest = IncomingMessage>(
  topics: Topics,
  options: HandlerOptions<R> = {},
): (req: R, res: SSEResponse) => void {
  const list = validateTopics(topics, options);
  return (req, res) => {
    void serveEvents(req, res, brokerFrom(req), list, options, req);
  };
}

/**
 * Like {@link handlerFunc}, with the broker taken from the request; a request
 * without one is answered 500 `sse: no broker in context`.
 */
export function contextHandlerFunc<R extends SSERequest = IncomingMessage>(
  topicsFn: TopicsFn<R>,
  options: HandlerOptions<R> = {},
): (req: R, res: SSEResponse) => void {
  validateOptions(options);
  return (req, res) => {
    void serveEvents(req, res, brokerFrom(req), () => topicsFn(req), options, req);
  };
}
