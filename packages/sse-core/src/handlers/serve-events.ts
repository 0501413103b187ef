import { type Admission, admitRequest, lastEventIdOf } from "../admission/admission.js";
import { claimResponse, readyToStream, responseTaken } from "../admission/connection.js";
import { logError, reportError } from "../admission/error-reports.js";
import { settleFailure } from "../admission/failure.js";
import { type HandlerOptions, type HandlerPlan, planOf } from "../admission/handler-options.js";
import type { SSEOptionError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";
import type { Subscription } from "../delivery/subscription.js";
import { streamTo } from "../transport/node-stream.js";
import type { AnyResponse, SSERequest, SSEResponse } from "../transport/sse-request.js";
import type { TopicsSource } from "../wire/topics.js";
import type { FrameworkHooks } from "./framework-hooks.js";

/** The header that ends an HTTP/1.x connection after an answer. */
const CLOSE_CONNECTION: Readonly<Record<string, string>> = Object.freeze({ Connection: "close" });

/**
 * The default report of a handler called without `next` (and of a bug
 * after the stream started). @internal
 */
export const logRequestError = logError("could not serve an event stream");

/**
 * Serves one event stream on a `node:http` (or `node:http2` compatibility)
 * response: checks the request (method, topics, limits, `authorize`),
 * subscribes, writes the headers, streams events until the client leaves or
 * the broker closes, and unsubscribes. A client resuming from a backplane's
 * history gets its headers (and a `:resuming` comment) at once; the replay
 * follows, as the backplane answers. The one function every handler and
 * framework adapter delegates to. Never throws for a request (bad `options`
 * throw an {@link SSEOptionError} on the first call: check them up front
 * with {@link validateOptions}): a problem becomes an HTTP answer (405 for a method other than GET; 500 `sse: no broker on this
 * request: put middleware(broker) before this route` when `broker` is
 * undefined; a topic function's or `authorize`'s error status; 400 for
 * topics past the limits; 403 when `authorize` says no; 503 with
 * `Retry-After` past `maxClients`; 429 past `maxClientsPerAddress`; 503 with
 * `Connection: close` for a request pipelined behind another one on its
 * HTTP/1.1 connection). A bug (a missing broker; a topic function or
 * `authorize` that threw an error without a 4xx status: answered a bare 500)
 * then goes to `options.onError`, by default logged with `console.error`. A
 * client that is gone (it left before the handler ran, or while its topics
 * or `authorize` were awaited) is never subscribed and gets nothing written.
 *
 * @param subject - what `options.authorize` and `options.onError` receive
 *   (an adapter passes its framework's request, e.g. koa's `ctx`); defaults
 *   to `req`.
 * @returns a promise that resolves when the stream has ended.
 *
 * @example
 * ```ts
 * // the heart of a koa adapter
 * ctx.respond = false;
 * await serveEvents(ctx.req, ctx.res, brokerFrom(ctx.req), () => topicsFn(ctx), options, ctx);
 * ```
 */
export function serveEvents<R = SSERequest, K extends string = string>(
  req: SSERequest,
  res: SSEResponse,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  options?: HandlerOptions<R, K>,
  subject?: R,
  hooks?: FrameworkHooks<R>,
): Promise<void> {
  const plan = planOf(options);
  return untilEnded(
    startEventStream(req, res, broker, topics, plan, subject ?? (req as R), hooks ?? {}),
  );
}

/**
 * What `started` (see {@link startEventStream}) gives a framework: a promise
 * that resolves when the stream ended (at once for a request answered
 * otherwise), or rejects with a bug for it to answer. @internal
 */
export function untilEnded(started: Promise<Subscription | undefined>): Promise<void> {
  return started.then((client) => client?.done);
}

/**
 * Admits, subscribes and starts the stream, with a handler's options
 * resolved once (`plan`); resolves with its client once streaming (nothing
 * of the request is held meanwhile), or undefined when it was answered
 * otherwise. Rejects only with a bug handed to the framework
 * (`hooks.propagate`), nothing answered. @internal
 */
export async function startEventStream<R>(
  req: SSERequest,
  res: SSEResponse,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  plan: HandlerPlan<R>,
  subject: R,
  hooks: FrameworkHooks<R>,
): Promise<Subscription | undefined> {
  const response = res as AnyResponse;
  const report = plan.onError ?? hooks.report ?? logRequestError;
  if (!claimResponse(response)) {
    reportError(report, responseTaken(), subject);
    return undefined;
  }
  let takenOver = false;
  const takeOver = (): void => {
    if (takenOver) return;
    takenOver = true;
    hooks.takeOver?.();
  };
  let admission: Admission | undefined;
  try {
    if (!readyToStream(req, response)) return undefined;
    const lastEventId = lastEventIdOf(req.headers["last-event-id"], req.url);
    admission = await admitRequest(
      {
        method: req.method,
        lastEventId,
        // Read only for the per-address cap: the address string is kept by the socket once read.
        address:
          plan.limits.maxClientsPerAddress === Number.POSITIVE_INFINITY
            ? undefined
            : req.socket?.remoteAddress,
        htmx: req.headers["hx-request"] !== undefined,
        noBrokerFix: hooks.noBrokerFix,
      },
      broker,
      topics,
      plan,
      subject,
    );
    // Checked again, on state: the client may have left while the topics or
    // `authorize` were awaited, and its `close` event is not emitted twice.
    if (!readyToStream(req, response)) return undefined;
    if (response.headersSent) {
      // Other code answered while the callbacks were awaited: not ours to write.
      reportError(report, responseTaken(), subject);
      return undefined;
    }
    takeOver();
    const client = admission.open(lastEventId);
    try {
      streamTo(req, response, client, { timing: plan.timing, format: admission.format });
    } catch (err) {
      client.leave();
      throw err;
    }
    return client;
  } catch (thrown) {
    const handOn = settleFailure(thrown, {
      req,
      res: response,
      propagate: hooks.propagate === true && plan.onError === undefined,
      takeOver,
      answerable: true,
      // After shutdown, the connection must not carry the next attempt back here.
      extraHeaders:
        broker?.closed === true && req.httpVersionMajor === 1 ? CLOSE_CONNECTION : undefined,
      report,
      subject,
    });
    if (handOn === undefined) return undefined;
    takenOver = true; // the framework answers: nothing to take over
    throw handOn;
  } finally {
    admission?.cancel();
    takeOver();
  }
}
