import { type HandlerOptions, type HandlerPlan, planOf } from "../admission/handler-options.js";
import type { StreamOptions } from "../admission/stream-plan.js";
import type { EventBroker } from "../broker/broker.js";
import type { Subscription } from "../delivery/subscription.js";
import type { SSERequest, SSEResponse } from "../transport/sse-request.js";
import type { SwapKeys } from "../wire/swap.js";
import type { TopicMap, TopicOf, Topics, TopicsFn, TopicsSource } from "../wire/topics.js";
import {
  validateBroker,
  validateSnapshotTopics,
  validateTopics,
  validateTopicsFn,
} from "./argument-checks.js";
import type { FrameworkHooks } from "./framework-hooks.js";
import { brokerFrom } from "./request-context.js";
import { type StreamProducer, streamHandler } from "./request-stream.js";
import { startEventStream, untilEnded } from "./serve-events.js";

/** Which of a framework's handlers a request reached: a broker stream, or a request stream. */
export type HandlerKind = "events" | "stream";

/**
 * What a framework adapter tells {@link frameworkHandlers}: how to read its
 * handler's arguments, how it takes part in one request, and what its
 * handler returns. Everything else (argument checks in their order,
 * admission, the stream, the error contract) is core's.
 *
 * @typeParam Args - the framework handler's arguments (express: `[req, res, next]`).
 * @typeParam S - what topic functions, `authorize`, `presence` and `onError` receive (express's `req`, koa's `ctx`).
 * @typeParam Ret - what the framework handler returns (express: `void`; koa, fastify: a promise).
 */
export interface FrameworkBinding<Args extends unknown[], S, Ret> {
  /** The `node:http` request and response under the framework's arguments, and the subject. */
  read(...args: Args): { req: SSERequest; res: SSEResponse; subject: S };
  /** How the framework takes part in this request (see {@link FrameworkHooks}). */
  hooks(kind: HandlerKind, ...args: Args): FrameworkHooks<S>;
  /**
   * The handler's return value for `served`, which resolves when the stream
   * ended and rejects with a bug for the framework to answer (with
   * `propagate`): express passes it to `next`, koa and fastify return it.
   */
  settle(served: Promise<void>, ...args: Args): Ret;
}

/**
 * A framework's handler set, built by {@link frameworkHandlers}. A typed
 * broker's topic map `T` flows into the topics a handler takes (and the
 * keys of its `swap` map); a context handler, whose broker is known only per
 * request, takes the map as an explicit type argument, and any topic without.
 */
export interface FrameworkHandlers<S, H> {
  /** Streams fixed `topics` from `broker`. */
  handler<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
    broker: EventBroker<T>,
    topics: Topics<K>,
    options?: HandlerOptions<S, SwapKeys<T, K>>,
  ): H;
  /** Streams the topics `topicsFn` names for each request from `broker`. */
  handlerFunc<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
    broker: EventBroker<T>,
    topicsFn: TopicsFn<S, K>,
    options?: HandlerOptions<S, SwapKeys<T, K>>,
  ): H;
  /** Like `handler`, with the broker the framework's middleware put on the request. */
  contextHandler<T extends TopicMap = TopicMap>(
    topics: Topics<TopicOf<T>>,
    options?: HandlerOptions<S, TopicOf<T>>,
  ): H;
  /** Like `handlerFunc`, with the broker the framework's middleware put on the request. */
  contextHandlerFunc<T extends TopicMap = TopicMap>(
    topicsFn: TopicsFn<S, TopicOf<T>>,
    options?: HandlerOptions<S, TopicOf<T>>,
  ): H;
  /** A request's own event stream, written by `produce`. */
  streamHandler(produce: StreamProducer<S>, options?: StreamOptions<S>): H;
}

/**
 * Builds a framework's handler set from a {@link FrameworkBinding}: the one
 * place where arguments are checked (at creation, in one order) and a
 * request is handed to core. An adapter for a new framework is its binding.
 *
 * @example
 * ```ts
 * // A polka-style adapter: (req, res, next) like express.
 * const handlers = frameworkHandlers<[IncomingMessage, ServerResponse, (err?: unknown) => void], IncomingMessage, void>({
 *   read: (req, res) => ({ req, res, subject: req }),
 *   hooks: () => ({ propagate: true, noBrokerFix: "put app.use(middleware(broker)) before this route" }),
 *   settle: (served, _req, _res, next) => void served.catch(next),
 * });
 * export const { handler, handlerFunc } = handlers;
 * ```
 */
export function frameworkHandlers<Args extends unknown[], S, Ret>(
  binding: FrameworkBinding<Args, S, Ret>,
): FrameworkHandlers<S, (...args: Args) => Ret> {
  return {
    ...brokerStreamHandlers(binding, (started, _plan, ...args) =>
      binding.settle(untilEnded(started), ...args),
    ),
    streamHandler(produce, options) {
      const serve = streamHandler<S>(produce, options);
      return (...args: Args): Ret => {
        const { req, res, subject } = binding.read(...args);
        const served = serve(req, res, subject, binding.hooks("stream", ...args));
        return binding.settle(served, ...args);
      };
    },
  };
}

/**
 * How a broker stream's handler returns: `started` resolves once the stream
 * started (with its client) or the request was answered otherwise, and
 * rejects with a bug for the framework (its hooks' `propagate`); `plan` is
 * the handler's options, resolved once. @internal
 */
export type SettleStarted<Args extends unknown[], S, Ret> = (
  started: Promise<Subscription | undefined>,
  plan: HandlerPlan<S>,
  ...args: Args
) => Ret;

/**
 * The broker-stream handlers of a handler set (all of
 * {@link FrameworkHandlers} but `streamHandler`): the one place where their
 * arguments are checked, at creation and in one order, and their options
 * resolved, once per handler. {@link frameworkHandlers} builds an adapter's
 * from its binding; core's own `node:http` handlers are built here too,
 * with a `settle` that does not wait for the stream to end. @internal
 */
export function brokerStreamHandlers<Args extends unknown[], S, Ret>(
  binding: Omit<FrameworkBinding<Args, S, Ret>, "settle">,
  settle: SettleStarted<Args, S, Ret>,
): Omit<FrameworkHandlers<S, (...args: Args) => Ret>, "streamHandler"> {
  const mount =
    (
      brokerOf: (req: SSERequest) => EventBroker | undefined,
      topicsOf: (subject: S) => TopicsSource,
      plan: HandlerPlan<S>,
    ) =>
    (...args: Args): Ret => {
      const { req, res, subject } = binding.read(...args);
      const hooks = binding.hooks("events", ...args);
      const started = startEventStream(
        req,
        res,
        brokerOf(req),
        topicsOf(subject),
        plan,
        subject,
        hooks,
      );
      return settle(started, plan, ...args);
    };
  return {
    handler(broker, topics, options) {
      validateBroker(broker);
      const list = validateTopics(topics, options);
      validateSnapshotTopics(broker, list, options);
      return mount(
        () => broker,
        () => list,
        planOf(options),
      );
    },
    handlerFunc(broker, topicsFn, options) {
      validateBroker(broker);
      validateTopicsFn(topicsFn);
      return mount(
        () => broker,
        (subject) => () => topicsFn(subject),
        planOf(options),
      );
    },
    contextHandler(topics, options) {
      const list = validateTopics(topics, options);
      return mount(brokerFrom, () => list, planOf(options));
    },
    contextHandlerFunc(topicsFn, options) {
      validateTopicsFn(topicsFn);
      return mount(brokerFrom, (subject) => () => topicsFn(subject), planOf(options));
    },
  };
}
