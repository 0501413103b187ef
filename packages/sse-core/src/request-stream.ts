import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { DEFAULT_BUFFER_SIZE } from "./broker.js";
import {
  Delivery,
  type Frame,
  type SlowClientPolicy,
  Subscription,
  type SubscriptionOwner,
  toBytes,
} from "./client.js";
import { checkEventKeys, encodeValid, type SSEEvent, validateEvent } from "./encode.js";
import { SSEError, SSEOptionError } from "./errors.js";
import {
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_WRITE_BUDGET,
  EventStream,
  type Sink,
} from "./event-stream.js";
import {
  ERROR_HEADERS,
  errorAnswer,
  logError,
  nextAfterAnswer,
  reportError,
  STREAM_HEADERS,
} from "./http.js";
import { DEFAULT_LIMITS } from "./limits.js";
import type { NextFunction, SSERequest, SSEResponse } from "./node-handler.js";
import {
  bufferSizeOption,
  callbackOption,
  capOption,
  checkKeys,
  numberOption,
  optionsObject,
  slowClientOption,
} from "./option-checks.js";

/**
 * The stream answering one request: what its producer sends to the client
 * who made it. Not a broker subscription: nothing else reaches it, and it ends
 * when the producer is done (or the client leaves).
 */
export interface RequestStream {
  /**
   * Sends one event (encoded like a published one: an `id`, `type`, `retry`
   * or `data` that could forge a field throws {@link SSEFieldError} at once).
   * An event without a `type` is an unnamed message, which htmx 4 swaps into
   * the requesting element's target.
   *
   * @returns a promise that resolves `true` once the event was handed to the
   * connection and it can take more (await it to pace a producer to the
   * client), or `false` when the event was not sent: the stream is closed, or
   * more than `bufferSize` events were waiting (see `slowClient`).
   */
  send(event: SSEEvent): Promise<boolean>;
  /** True once the stream ended: the producer finished, `close()` was called, or the client left. */
  readonly closed: boolean;
  /** Aborted when the stream ends for any reason; pass it to the work the producer waits for. */
  readonly signal: AbortSignal;
  /** Ends the stream after what was sent is written. Idempotent. */
  close(): void;
}

/**
 * Writes one request's answer: called once the stream's headers are sent.
 * The stream ends when the returned promise settles; a throw or rejection is
 * reported to `onError` (the client already has its 200, so the stream just
 * ends).
 */
export type StreamProducer<R> = (stream: RequestStream, req: R) => void | Promise<void>;

/** Options of {@link streamHandler} and the adapters' `streamHandler`. */
export interface StreamOptions<R = SSERequest> {
  /**
   * Interval of the `:keepalive` comment, in milliseconds; 0 turns it off.
   * @default 30000
   */
  keepaliveMs?: number;
  /**
   * Events a stream may hold while its connection cannot take them (a
   * producer that does not await `send`); past it, `slowClient` applies.
   * A size below 1 is 1 (a stream always holds the event being written).
   * @default 16
   */
  bufferSize?: number;
  /**
   * What happens to an event sent while `bufferSize` events wait:
   * `"drop-newest"` (the new one is not sent, `send` resolves false),
   * `"drop-oldest"`, or `"disconnect"` (the stream ends).
   * @default "drop-newest"
   */
  slowClient?: SlowClientPolicy;
  /**
   * Streams of this handler open at once; past it, requests are answered 503
   * with `Retry-After`. 0 (or `Infinity`) means no cap.
   * @default 10000
   */
  maxClients?: number;
  /**
   * Streams of this handler one client address may hold at once; 0 (or
   * `Infinity`) means no cap.
   * @default 0
   */
  maxClientsPerAddress?: number;
  /**
   * Called with the request before anything is sent: false answers 403, a
   * thrown error with a `status` answers that status.
   * @default undefined (everyone may)
   */
  authorize?: (req: R) => boolean | Promise<boolean>;
  /**
   * Told when a producer throws or rejects (after the 200 was sent: the
   * stream then ends), or when `authorize` throws an error without a 4xx
   * status (after the client was answered a bare 500): a bug, as for
   * the handlers' `onError`.
   * @default called with `next` (express), the error goes to `next(err)` once
   *   the answer is sent; `@burrow/sse-koa` hands it to koa (`ctx.onerror`);
   *   otherwise it is logged once with `console.error`, with the request's
   *   method and path
   */
  onError?: (error: unknown, req: R) => void;
}

const STREAM_OPTION_KEYS = [
  "keepaliveMs",
  "bufferSize",
  "slowClient",
  "maxClients",
  "maxClientsPerAddress",
  "authorize",
  "onError",
];

/** A stream handler's options, checked once. */
class StreamPlan<R> {
  readonly keepaliveMs: number;
  readonly bufferSize: number;
  readonly slowClient: SlowClientPolicy;
  readonly maxClients: number;
  readonly maxClientsPerAddress: number;
  readonly authorize: ((req: R) => boolean | Promise<boolean>) | undefined;
  readonly onError: ((error: unknown, req: R) => void) | undefined;
  /** Streams open now, and per address. */
  open = 0;
  readonly perAddress = new Map<string, number>();

  constructor(given: StreamOptions<R> | undefined) {
    const options = optionsObject(given, "stream options", "{ bufferSize: 32 }");
    checkKeys(options, STREAM_OPTION_KEYS, "a stream option");
    this.keepaliveMs = numberOption("keepaliveMs", options.keepaliveMs, {
      fallback: DEFAULT_KEEPALIVE_MS,
      min: 0,
      fraction: true,
      infinity: false,
    });
    this.bufferSize = bufferSizeOption("bufferSize", options.bufferSize, DEFAULT_BUFFER_SIZE);
    this.maxClients = capOption("maxClients", options.maxClients, DEFAULT_LIMITS.maxClients);
    this.maxClientsPerAddress = capOption(
      "maxClientsPerAddress",
      options.maxClientsPerAddress,
      DEFAULT_LIMITS.maxClientsPerAddress,
    );
    this.slowClient = slowClientOption(options.slowClient);
    callbackOption("authorize", options.authorize, "(req) => boolean");
    callbackOption("onError", options.onError, "(error, req) => void");
    this.authorize = options.authorize;
    this.onError = options.onError;
  }

  /** Takes a slot for one stream from `address`, or throws 503 / 429; returns its release. */
  take(address: string | undefined): () => void {
    if (this.open >= this.maxClients) {
      throw new SSEError("sse: too many streams", 503, { headers: { "Retry-After": "5" } });
    }
    const capped = this.maxClientsPerAddress !== Number.POSITIVE_INFINITY && address !== undefined;
    const mine = capped ? (this.perAddress.get(address) ?? 0) : 0;
    if (capped && mine >= this.maxClientsPerAddress) {
      throw new SSEError(
        `sse: too many streams from this address (at most ${this.maxClientsPerAddress})`,
        429,
      );
    }
    this.open++;
    if (capped) this.perAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      if (!capped) return;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    };
  }
}

/** The default reports: one log line per failure, naming what failed. */
const LOGGED = {
  authorize: logError("authorize failed"),
  producer: logError("a stream producer failed"),
};

/** A request stream's queue has no broker: it flushes itself, once per tick. */
const OWNER: SubscriptionOwner = {
  scheduleFlush(client) {
    client.dirty = true;
    queueMicrotask(() => {
      client.dirty = false;
      client.flushNow();
    });
  },
  unsubscribe: (client) => (client as Subscription).close(true),
  replay: () => ({ frames: [], gap: false }),
  resumeMissed: () => undefined,
  disconnect: (client) => queueMicrotask(() => client.close(true)),
};

const TIMING_OFF = { reconnectWindowMs: 0 };

/**
 * The handle a producer writes to: a broker-less {@link Subscription} that
 * one {@link EventStream} drains into one transport.
 */
class StreamHandle implements RequestStream {
  readonly queue: Subscription;
  private readonly aborter = new AbortController();
  private waiters: ((sent: boolean) => void)[] = [];

  constructor(plan: StreamPlan<never>) {
    this.queue = new Subscription(OWNER, [], plan.bufferSize, plan.slowClient);
    void this.queue.done.then(() => {
      this.aborter.abort();
      this.settle(false);
    });
  }

  get closed(): boolean {
    return this.queue.closed;
  }

  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  send(event: SSEEvent): Promise<boolean> {
    if (typeof event !== "object" || event === null) validateEvent(event);
    const copy: SSEEvent = { ...event };
    checkEventKeys(copy);
    validateEvent(copy);
    if (this.queue.closed) return Promise.resolve(false);
    const frame: Frame = {
      event: Object.freeze(copy),
      chunk: toBytes(encodeValid(copy)),
      seq: 0,
      topic: "",
    };
    if (this.queue.deliver(frame) === Delivery.Dropped) return Promise.resolve(false);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.queue.close(false);
  }

  /** Everything sent so far was handed to the transport (true), or the stream ended (false). */
  settle(sent: boolean): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const resolve of waiters) resolve(sent);
  }
}

type AnyResponse = ServerResponse & Http2ServerResponse;

/** True when the request can no longer be answered: its client left or its connection is gone. */
function gone(req: SSERequest, res: AnyResponse): boolean {
  const socket = (req as IncomingMessage).socket as { destroyed?: boolean } | null | undefined;
  return (
    res.writableEnded ||
    res.destroyed ||
    req.destroyed ||
    socket === null ||
    socket === undefined ||
    socket.destroyed === true
  );
}

async function serveStream<R>(
  req: SSERequest,
  res: SSEResponse,
  plan: StreamPlan<R>,
  produce: StreamProducer<R>,
  subject: R,
  onError: ((error: unknown, req: R) => void) | undefined,
): Promise<void> {
  const response = res as AnyResponse;
  let left = false;
  const onLeave = (): void => {
    left = true;
  };
  response.once("close", onLeave);
  req.once("close", onLeave);
  let release: () => void;
  try {
    if (gone(req, response)) return;
    release = plan.take((req as IncomingMessage).socket?.remoteAddress);
    try {
      if (plan.authorize !== undefined && !(await plan.authorize(subject))) {
        throw new SSEError("sse: forbidden", 403);
      }
    } catch (err) {
      release();
      throw err;
    }
  } catch (err) {
    const { status, message, headers, report } = errorAnswer.of(err);
    if (!left && !gone(req, response) && !response.headersSent) {
      response.writeHead(status, { ...ERROR_HEADERS, ...headers });
      response.end(message);
    }
    if (report) reportError(onError ?? LOGGED.authorize, err, subject);
    return;
  } finally {
    response.removeListener("close", onLeave);
    req.removeListener("close", onLeave);
  }
  if (left || gone(req, response)) {
    release();
    return;
  }
  const stream = new StreamHandle(plan as StreamPlan<never>);
  void stream.queue.done.then(release);
  open(req, response, stream, plan);
  try {
    await produce(stream, subject);
  } catch (err) {
    if (!stream.closed) reportError(onError ?? LOGGED.producer, err, subject);
  } finally {
    stream.close();
  }
  await stream.queue.done;
}

/** Sends the stream's head and connects its queue to the response. */
function open<R>(
  req: SSERequest,
  res: AnyResponse,
  stream: StreamHandle,
  plan: StreamPlan<R>,
): void {
  const headers: Record<string, string> = { ...STREAM_HEADERS };
  if (req.httpVersionMajor === 1) headers.Connection = "keep-alive";
  res.writeHead(200, headers);
  (res as { flushHeaders?: () => void }).flushHeaders?.();
  const queue = stream.queue;
  const onDrain = (): void => events.drained();
  const onGone = (): void => queue.close(true);
  const sink: Sink = {
    write: (chunk) => res.write(chunk),
    end: () => {
      res.removeListener("drain", onDrain);
      res.removeListener("close", onGone);
      res.removeListener("error", onGone);
      if (!res.writableEnded && !res.destroyed) res.end();
    },
    idle: () => stream.settle(true),
  };
  const budget = (res as { writableHighWaterMark?: number }).writableHighWaterMark;
  const events = new EventStream(
    queue,
    sink,
    { keepaliveMs: plan.keepaliveMs, ...TIMING_OFF },
    budget ?? DEFAULT_WRITE_BUDGET,
  );
  res.on("drain", onDrain);
  res.on("close", onGone);
  res.on("error", onGone);
}

/**
 * A `node:http` (or `node:http2` compatibility) handler whose answer is an
 * event stream of its own, written by `produce`: not a broker subscription
 * but one request's progress and result, e.g. a report the request starts.
 * The same encoder, backpressure, keepalive and clean end on client abort as
 * a broker stream, with its own limits (`maxClients` streams of this handler
 * at once, `maxClientsPerAddress`) and `authorize`. Any method is accepted:
 * htmx 4 streams the answer of an `hx-post` as well as of an `hx-get`.
 *
 * When the producer returns, the stream ends. htmx 4 does not reconnect a
 * stream started by `hx-get`/`hx-post` (only one of `hx-sse:connect`), so it
 * simply stops there. Throws {@link SSEOptionError} at once for a bad option.
 *
 * @param produce - writes the answer; gets the stream and the request (an
 *   adapter passes its framework's request or context instead).
 * @returns `(req, res, subject?)`: `subject`, when given, is what `produce`
 *   and `authorize` receive instead of `req` (adapters pass koa's `ctx`).
 *
 * @example
 * ```ts
 * const report = streamHandler(async (stream) => {
 *   for (let done = 10; done <= 100; done += 30) {
 *     await stream.send({ data: `<progress value="${done}" max="100"></progress>` });
 *     await step(stream.signal);
 *   }
 *   await stream.send({ data: "<p>Report ready</p>" });
 * });
 * // <button hx-post="/reports" hx-target="#report">Run</button>
 * createServer((req, res) => (req.url === "/reports" ? report(req, res) : res.end()));
 * ```
 */
export function streamHandler<R = IncomingMessage>(
  produce: StreamProducer<NoInfer<R>>,
  options?: StreamOptions<NoInfer<R>>,
): (req: SSERequest, res: SSEResponse, subject?: R, next?: NextFunction) => Promise<void> {
  if (typeof produce !== "function") {
    throw new SSEOptionError("produce", "must be a function (stream, req) => …", produce);
  }
  const plan = new StreamPlan(options);
  return (req, res, subject, next) => {
    const onError =
      plan.onError ??
      (typeof next === "function" ? nextAfterAnswer(res as AnyResponse, next) : undefined);
    return serveStream(req, res, plan, produce, subject ?? (req as R), onError);
  };
}
