import type { IncomingMessage } from "node:http";
import { reportError } from "../admission/error-reports.js";
import type { HandlerOptions } from "../admission/handler-options.js";
import type { SSEOptionError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";
import type { SSERequest, SSEResponse } from "../transport/sse-request.js";
import type { SwapKeys } from "../wire/swap.js";
import type { TopicMap, TopicOf, Topics, TopicsFn } from "../wire/topics.js";
import { brokerStreamHandlers, type FrameworkHandlers } from "./framework-handlers.js";
import type { FrameworkHooks, NextFunction } from "./framework-hooks.js";
import { logRequestError } from "./serve-events.js";

/**
 * A `node:http` handler: `(req, res)`, and connect-style `(req, res, next)`
 * so that express and connect mount it directly.
 */
export type SSEHandler<R> = (req: R, res: SSEResponse, next?: NextFunction) => void;

/** Called connect-style (with `next`): a bug before anything is answered goes to `next(err)`, unanswered. */
const HAND_ON: FrameworkHooks<unknown> = Object.freeze({ propagate: true });
/** Called as a plain `node:http` handler: core answers a bug 500 and reports it. */
const ANSWER: FrameworkHooks<unknown> = Object.freeze({});

/**
 * Core's own handler set, for requests of type `R`: `node:http`, and
 * connect-style, as a binding of the adapters' factory. Without
 * `options.onError`, a bug before anything is answered goes to `next(err)`
 * unanswered when there is a `next`, for the app's error handling to
 * answer; else it is answered 500 and logged.
 */
function nodeHandlers<R extends SSERequest>(): Omit<
  FrameworkHandlers<R, SSEHandler<R>>,
  "streamHandler"
> {
  return brokerStreamHandlers<[R, SSEResponse, NextFunction?], R, void>(
    {
      read: (req, res) => ({ req, res, subject: req }),
      hooks: (_kind, _req, _res, next) => (typeof next === "function" ? HAND_ON : ANSWER),
    },
    (started, plan, req, _res, next) => {
      const report = plan.onError ?? logRequestError;
      void started.catch(
        typeof next === "function" ? next : (error) => reportError(report, error, req),
      );
    },
  );
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
  return nodeHandlers<R>().handler<T, K>(broker, topics, options);
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
  return nodeHandlers<R>().handlerFunc<T, K>(broker, topicsFn, options);
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
  return nodeHandlers<R>().contextHandler<T>(topics, options);
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
  return nodeHandlers<R>().contextHandlerFunc<T>(topicsFn, options);
}
