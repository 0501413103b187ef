import type { IncomingMessage } from "node:http";
import { type Admission, admitRequest, lastEventIdOf } from "../admission/admission.js";
import { claimResponse, readyToStream, responseTaken } from "../admission/connection.js";
import { logError, reportError } from "../admission/error-reports.js";
import { settleFailure } from "../admission/failure.js";
import { type HandlerOptions, type HandlerPlan, planOf } from "../admission/handler-options.js";
import { SSEOptionError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";
import type { Subscription } from "../delivery/subscription.js";
import { streamTo } from "../transport/node-stream.js";
import type { AnyResponse, SSERequest, SSEResponse } from "../transport/sse-request.js";
import type { SwapKeys } from "../wire/swap.js";
import type { TopicMap, TopicOf, Topics, TopicsFn, TopicsSource } from "../wire/topics.js";
import { validateBroker, validateTopics, validateTopicsFn } from "./argument-checks.js";
import type { FrameworkHooks } from "./framework-hooks.js";
import { brokerFrom } from "./request-context.js";

/**
 * A connect-style `next`: where a handler called by express (or connect)
 * passes an error it did not expect, once the client has its answer.
 */
export type NextFunction = (err?: unknown) => void;

/**
 * A `node:http` handler: `(req, res)`, and connect-style `(req, res, next)`
 * so that express and connect mount it directly.
 */
export type SSEHandler<R> = (req: R, res: SSEResponse, next?: NextFunction) => void;

/** The header that ends an HTTP/1.x connection after an answer. */
const CLOSE_CONNECTION: Readonly<Record<string, string>> = Object.freeze({ Connection: "close" });

/** The default report of a handler called without `next` (and of a bug after the stream started). */
const logRequestError = logError("could not serve an event stream");

/**
 * Serves one event stream on a `node:http` (or `node:http2` compatibility)
 * response: checks the request (method, topics, limits, `authorize`),
 * subscribes, writes the headers, streams events until the client leaves or
 * the broker closes, and unsubscribes. The one function every handler and
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
  return serve(req, res, broker, topics, plan, subject ?? (req as R), hooks ?? {}).then(
    (client) => client?.done,
  );
}

/**
 * Admits, subscribes and starts the stream; resolves with its client once
 * streaming (nothing of the request is held meanwhile), or undefined when
 * it was answered otherwise. Rejects only with a bug handed to the
 * framework (`hooks.propagate`), nothing answered.
 */
async function serve<R>(
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
      streamTo(req, response, client, { timing: plan.timing, format: plan.format });
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

/**
 * A handler serving `topics` from `broker` (or the request's, for a context
 * handler) with a resolved `plan`. Called connect-style (express, connect)
 * without `options.onError`, a bug before anything is answered goes to
 * `next(err)` unanswered, for the app's error handling to answer.
 */
function handlerOf<R extends SSERequest>(
  broker: ((req: R) => EventBroker | undefined) | EventBroker,
  topics: (req: R) => TopicsSource,
  plan: HandlerPlan<R>,
): SSEHandler<R> {
  const brokerOf = typeof broker === "function" ? broker : () => broker;
  const report = plan.onError ?? logRequestError;
  return (req, res, next) => {
    const propagate = typeof next === "function";
    const served = serve(req, res, brokerOf(req), topics(req), plan, req, { propagate });
    void served.catch(propagate ? next : (err) => reportError(report, err, req));
  };
}

/**
 * A `node:http` request handler that streams `topics` to every client.
 * Throws an {@link SSEOptionError} at once for a broker that is not one, an
 * empty or bad topic list, or a bad option. Also a connect-style
 * `(req, res, next)` middleware: under express (or connect), a bug (see
 * `onError`) goes to `next(err)` with nothing answered, for the app's error
 * handling to answer. On a typed broker (`new EventBroker<AppTopics>()`), `topics`
 * must be topics it declares, and a `swap` map may name only them.
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
export function handler<
  R extends SSERequest = SSERequest,
  T extends TopicMap = TopicMap,
  K extends TopicOf<T> = TopicOf<T>,
>(
  broker: EventBroker<T>,
  topics: Topics<K>,
  options?: HandlerOptions<R, SwapKeys<T, K>>,
): SSEHandler<R> {
  validateBroker(broker);
  const plan = planOf(options);
  const list = validateTopics(topics, options);
  return handlerOf<R>(broker, () => list, plan);
}

/**
 * A `node:http` request handler whose topics depend on the request, e.g. a
 * room named in the URL. `topicsFn` may be async; one that throws answers
 * the error's `status`/`statusCode` when it is 400–499 (a refusal), else 500
 * (a bug, reported to `onError`), and subscribes nothing. On a typed broker,
 * `topicsFn` must return topics it declares.
 *
 * @example
 * ```ts
 * const roomEvents = handlerFunc(broker, (req) => {
 *   const room = new URL(req.url ?? "/", "http://x").searchParams.get("room");
 *   return `room:${room}`;
 * });
 * ```
 */
export function handlerFunc<
  R extends SSERequest = IncomingMessage,
  T extends TopicMap = TopicMap,
  K extends TopicOf<T> = TopicOf<T>,
>(
  broker: EventBroker<T>,
  topicsFn: TopicsFn<R, K>,
  options?: HandlerOptions<R, SwapKeys<T, K>>,
): SSEHandler<R> {
  validateBroker(broker);
  validateTopicsFn(topicsFn);
  const plan = planOf(options);
  return handlerOf<R>(broker, (req) => () => topicsFn(req), plan);
}

/**
 * Like {@link handler}, with the broker taken from the request (put there by
 * {@link withBroker} or a broker middleware); a request without one is
 * answered 500 `sse: no broker on this request: put middleware(broker)
 * before this route`, and that error goes to `onError`. The broker is not
 * known when the handler is made, so topics are unchecked unless given the
 * app's topic map as `T`: `contextHandler<IncomingMessage, AppTopics>("notes")`.
 *
 * @example
 * ```ts
 * const middleware = brokerMiddleware(broker);
 * const events = contextHandler("notifications");
 * createServer((req, res) => middleware(req, res, () => events(req, res)));
 * ```
 */
export function contextHandler<
  R extends SSERequest = IncomingMessage,
  T extends TopicMap = TopicMap,
>(topics: Topics<TopicOf<T>>, options?: HandlerOptions<R, TopicOf<T>>): SSEHandler<R> {
  const plan = planOf(options);
  const list = validateTopics(topics, options);
  return handlerOf<R>(brokerFrom, () => list, plan);
}

/**
 * Like {@link handlerFunc}, with the broker taken from the request; a
 * request without one is answered 500 `sse: no broker on this request: put
 * middleware(broker) before this route`, and that error goes to `onError`.
 * Topics are unchecked unless given the app's topic map as `T`
 * (`contextHandlerFunc<IncomingMessage, AppTopics>(...)`).
 */
export function contextHandlerFunc<
  R extends SSERequest = IncomingMessage,
  T extends TopicMap = TopicMap,
>(topicsFn: TopicsFn<R, TopicOf<T>>, options?: HandlerOptions<R, TopicOf<T>>): SSEHandler<R> {
  validateTopicsFn(topicsFn);
  const plan = planOf(options);
  return handlerOf<R>(brokerFrom, (req) => () => topicsFn(req), plan);
}
