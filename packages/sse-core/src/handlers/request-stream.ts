import type { IncomingMessage } from "node:http";
import {
  claimResponse,
  connectionState,
  readyToStream,
  responseTaken,
} from "../admission/connection.js";
import { logError, reportError } from "../admission/error-reports.js";
import { settleFailure } from "../admission/failure.js";
import type { StreamOptions } from "../admission/stream-plan.js";
import { StreamPlan } from "../admission/stream-plan.js";
import { ABORTED } from "../base/abort-reason.js";
import { SSEError, SSEOptionError } from "../base/errors.js";
import type { EventStream } from "../delivery/event-stream.js";
import type { FlushScheduler } from "../delivery/flush.js";
import { Delivery } from "../delivery/live-queue.js";
import { Subscription } from "../delivery/subscription.js";
import type { SubscriptionHost } from "../delivery/subscription-host.js";
import { streamTo } from "../transport/node-stream.js";
import type { AnyResponse, SSERequest, SSEResponse } from "../transport/sse-request.js";
import { checkedCopy, type SSEEvent } from "../wire/encode.js";
import { frameOf } from "../wire/frame.js";
import type { FrameworkHooks, NextFunction } from "./framework-hooks.js";

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

/** The default reports: one log line per failure, naming what failed. @internal */
export const LOGGED = {
  authorize: logError("authorize failed"),
  producer: logError("a stream producer failed"),
};

/** Request streams end when their producer does: no reconnect spread. @internal */
export const TIMING_OFF = { reconnectWindowMs: 0 };

/**
 * The handle a producer writes to, and the host of its {@link Subscription}
 * (no broker owns it): one {@link EventStream} drains it into one transport,
 * flushed by the handler's scheduler. @internal
 */
export class StreamHandle implements RequestStream, SubscriptionHost {
  readonly queue: Subscription;
  readonly flusher: FlushScheduler;
  private readonly aborter = new AbortController();
  private waiters: ((sent: boolean) => void)[] = [];

  constructor(plan: StreamPlan<never>) {
    this.flusher = plan.flusher;
    this.queue = new Subscription(this, [], plan);
    void this.queue.done.then(() => {
      this.aborter.abort(ABORTED);
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
    const copy = checkedCopy(event);
    if (this.queue.closed) return Promise.resolve(false);
    if (this.queue.offer(frameOf("", copy, 0)) === Delivery.Dropped) return Promise.resolve(false);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.queue.close(false);
  }

  /** Its subscription ends: the client left, or (`"slow"`) fell behind under "disconnect". @internal */
  endClient(client: Subscription, reason: "client" | "slow"): void {
    if (reason === "slow") queueMicrotask(() => client.close(true));
    else client.close(true);
  }

  /** Everything sent so far was handed to the transport (true), or the stream ended (false). */
  settle(sent: boolean): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const resolve of waiters) resolve(sent);
  }
}

async function serveStream<R>(
  req: SSERequest,
  res: SSEResponse,
  plan: StreamPlan<R>,
  produce: StreamProducer<R>,
  subject: R,
  hooks: FrameworkHooks<R>,
): Promise<void> {
  const response = res as AnyResponse;
  const onError = plan.onError ?? hooks.report;
  if (!claimResponse(response)) {
    reportError(onError ?? LOGGED.authorize, responseTaken(), subject);
    return;
  }
  let left = false;
  const onLeave = (): void => {
    left = true;
  };
  response.once("close", onLeave);
  let taken = false;
  const takeOver = (): void => {
    if (taken) return;
    taken = true;
    hooks.takeOver?.();
  };
  let release: () => void;
  try {
    if (!readyToStream(req, response)) return;
    release = plan.reserve((req as IncomingMessage).socket?.remoteAddress);
    try {
      if (plan.authorize !== undefined && !(await plan.authorize(subject))) {
        throw new SSEError("sse: forbidden", 403);
      }
    } catch (err) {
      release();
      throw err;
    }
  } catch (thrown) {
    const handOn = settleFailure(thrown, {
      req,
      res: response,
      propagate: hooks.propagate === true && plan.onError === undefined,
      takeOver,
      answerable: !left,
      report: onError ?? LOGGED.authorize,
      subject,
    });
    if (handOn === undefined) return;
    taken = true; // the framework answers
    throw handOn;
  } finally {
    response.removeListener("close", onLeave);
    takeOver();
  }
  if (left || connectionState(req, response) !== "open" || response.headersSent) {
    release();
    return;
  }
  const stream = new StreamHandle(plan as StreamPlan<never>);
  void stream.queue.done.then(release);
  streamTo(req, response, stream.queue, {
    timing: { keepaliveMs: plan.keepaliveMs, ...TIMING_OFF },
    idle: () => stream.settle(true),
    endClosesConnection: false,
  });
  try {
    await produce(stream, subject);
  } catch (err) {
    // The stream has started: it ends, and nothing that could write to it hears of this.
    if (!stream.closed) reportError(onError ?? LOGGED.producer, err, subject);
  } finally {
    stream.close();
  }
  await stream.queue.done;
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
 * @returns `(req, res, subject?, next?)`: `subject`, when given, is what
 *   `produce` and `authorize` receive instead of `req` (adapters pass koa's
 *   `ctx`). `next` is connect's (a bug before anything is answered goes to
 *   `next(err)` unanswered, for express's error handling) or an adapter's
 *   {@link FrameworkHooks}. Once the stream has started, a producer's error
 *   ends it and goes to `onError` (default: logged), never to the framework.
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
): (
  req: SSERequest,
  res: SSEResponse,
  subject?: R,
  next?: NextFunction | FrameworkHooks<NoInfer<R>>,
) => Promise<void> {
  if (typeof produce !== "function") {
    throw new SSEOptionError("produce", "must be a function (stream, req) => …", produce);
  }
  const plan = new StreamPlan(options);
  return (req, res, subject, next) => {
    const who = subject ?? (req as R);
    // An adapter's hooks: with `propagate`, the returned promise rejects for its framework.
    if (typeof next !== "function") return serveStream(req, res, plan, produce, who, next ?? {});
    // Connect-style: a bug before anything is answered goes to `next(err)`, unanswered.
    return serveStream(req, res, plan, produce, who, { propagate: true }).catch(next);
  };
}
