import { type HandlerOptions, planOf } from "../admission/handler-options.js";
import { SSEError, SSEFieldError, SSEOptionError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";
import { checkSwapKeys } from "../wire/swap-keys.js";
import { checkTopicLimits } from "../wire/topic-limits.js";
import { normalizeTopics, type Topics } from "../wire/topics.js";
import { isBroker } from "./request-context.js";

/**
 * Validates handler options, throwing an {@link SSEOptionError} naming the
 * bad one: an unknown key (with the closest known one), a wrong type (a
 * number given as a string is refused), a value out of range. Handlers and
 * adapters call it when they are created, so a typo fails at startup, not on
 * the first request.
 */
export function validateOptions<R, K extends string = string>(
  options: HandlerOptions<R, K> | undefined,
): void {
  planOf(options);
}

/**
 * Normalizes static topics (one or a list; duplicates collapse) and checks
 * them against `options`' limits, throwing an {@link SSEOptionError} naming
 * `topics` at once for an empty list, a name that is not a string, or a
 * topic the limits would refuse (no client could ever subscribe to it), and
 * one naming `swap.<key>` for a key of the `swap` map that is none of the
 * topics (a misspelt topic: its fragments would go nowhere), with the
 * closest topic. For adapters, at handler creation.
 */
export function validateTopics<R, K extends string = string>(
  topics: Topics,
  options?: HandlerOptions<R, K>,
): readonly string[] {
  const { limits, htmxFormat: format } = planOf(options);
  if (typeof topics !== "string" && !Array.isArray(topics)) {
    throw new SSEOptionError("topics", "must be a topic name or a list of topic names", topics, {
      hint:
        typeof topics === "function"
          ? "a function of the request goes to handlerFunc (or contextHandlerFunc)"
          : undefined,
    });
  }
  let list: readonly string[];
  try {
    list = normalizeTopics(topics);
    checkTopicLimits(list, limits);
  } catch (err) {
    if (!SSEFieldError.isInstance(err) && !SSEError.isInstance(err)) throw err;
    const reason = err.message.replace(/^sse: (topics: )?/, "");
    throw new SSEOptionError("topics", reason, topics, { cause: err });
  }
  if (format !== undefined) checkSwapKeys(format, list);
  return list;
}

/**
 * Checks the broker argument of a handler: an {@link EventBroker} (from any
 * loaded copy of this package), else an {@link SSEOptionError} naming
 * `broker`. For adapters, at handler creation.
 */
export function validateBroker(broker: unknown): EventBroker {
  if (!isBroker(broker)) {
    throw new SSEOptionError("broker", "must be an EventBroker, e.g. new EventBroker()", broker, {
      hint:
        broker === undefined
          ? "to take the broker from the request, use contextHandler (after middleware(broker))"
          : undefined,
    });
  }
  return broker;
}

/**
 * Checks the topic function argument of a handler, else an
 * {@link SSEOptionError} naming `topicsFn`. For adapters, at handler
 * creation.
 */
export function validateTopicsFn(topicsFn: unknown): void {
  if (typeof topicsFn !== "function") {
    throw new SSEOptionError("topicsFn", "must be a function (req) => topics", topicsFn, {
      hint:
        typeof topicsFn === "string" || Array.isArray(topicsFn)
          ? "fixed topics go to handler (or contextHandler)"
          : undefined,
    });
  }
}

/**
 * Checks a handler's `snapshot` option against its broker and fixed
 * `topics`: it renders only topics whose policy has a `target`, so one of
 * them must, else an {@link SSEOptionError} naming `snapshot` and the fix.
 * @internal
 */
export function validateSnapshotTopics<R, K extends string = string>(
  broker: EventBroker,
  topics: readonly string[],
  options: HandlerOptions<R, K> | undefined,
): void {
  const { snapshot } = planOf(options);
  if (snapshot === undefined || topics.some((topic) => broker.rules.of(topic)?.target)) return;
  throw new SSEOptionError(
    "snapshot",
    `is used only for topics whose policy has a target, and none of ${topics.join(", ")} has one`,
    snapshot,
    {
      hint: `give one a target in the broker's topics option, e.g. new EventBroker({ topics: { ${JSON.stringify(topics[0])}: { target: "#region" } } })`,
    },
  );
}
