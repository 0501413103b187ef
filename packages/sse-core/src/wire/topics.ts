import { SSEFieldError } from "../base/errors.js";

/**
 * An app's topics and the type of each one's `data`: topic names (string
 * literals, or template-literal patterns through an index signature) mapped
 * to a string type (SSE data is text; an app may map a topic to a branded
 * type, e.g. its escaped `Html`). Declared with `type`, not `interface`: an
 * interface has no implicit index signature, so it does not satisfy this
 * constraint. `EventBroker<Map>` then checks `publish`, `subscribe`,
 * `members` and every handler's topics against it; the default, this type
 * itself, takes any topic with string data.
 *
 * @example
 * ```ts
 * type Html = string & { readonly __html: true };
 * type AppTopics = { notes: Html; status: string; [project: `project:${string}`]: Html };
 * const broker = new EventBroker<AppTopics>();
 * ```
 */
export type TopicMap = Readonly<Record<string, string>>;

/** The topic names a {@link TopicMap} declares (literals and patterns); `string` for the default map. */
export type TopicOf<T extends TopicMap> = keyof T & string;

/** One topic or several; `K` narrows the names (a typed broker's {@link TopicOf}). */
export type Topics<K extends string = string> = K | readonly K[];

/**
 * Resolves the topics of one request: sync or async. A thrown error with a
 * `status` or `statusCode` (e.g. 403) answers with that status. `K` narrows
 * the names it may return (a typed broker's {@link TopicOf}).
 */
export type TopicsFn<R, K extends string = string> = (req: R) => Topics<K> | Promise<Topics<K>>;

/** The topics of one stream, or a function resolving them (sync or async). */
export type TopicsSource = Topics | (() => Topics | Promise<Topics>);

/**
 * Checks a topic name: a non-empty string.
 * @internal
 */
export function checkTopic(topic: unknown, field: "topic" | "topics" = "topic"): string {
  if (typeof topic !== "string" || topic.length === 0) {
    throw new SSEFieldError(field, "a topic must be a non-empty string", topic);
  }
  return topic;
}

/**
 * Normalizes `topics` into a list of unique, non-empty topic names; throws
 * {@link SSEFieldError} for an empty list or a bad name.
 * @internal
 */
export function normalizeTopics(topics: Topics): readonly string[] {
  // A list this function returned is returned as is: every client of a
  // handler with static topics then shares one array instead of holding a copy.
  if (typeof topics !== "string" && normalized.has(topics)) return topics;
  const list = typeof topics === "string" ? [topics] : topics;
  if (!Array.isArray(list)) {
    const kind = topics === null ? "null" : typeof topics;
    throw new SSEFieldError(
      "topics",
      `must be a topic name or a list of topic names, got ${kind}`,
      topics,
    );
  }
  if (list.length === 0) {
    throw new SSEFieldError("topics", "at least one topic is required", topics);
  }
  const unique = new Set<string>();
  for (const topic of list) unique.add(checkTopic(topic, "topics"));
  const out = Object.freeze([...unique]);
  normalized.add(out);
  return out;
}

/** Frozen lists returned by {@link normalizeTopics}. */
const normalized = new WeakSet<readonly string[]>();
