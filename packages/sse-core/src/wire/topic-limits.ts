import { SSEError } from "../base/errors.js";

/**
 * The limits a handler holds a stream's topics and `Last-Event-ID` to,
 * resolved (see `Limits`, whose topic options they are). @internal
 */
export interface TopicLimits {
  readonly maxTopics: number;
  readonly maxTopicLength: number;
  readonly topicPattern: RegExp;
  readonly maxLastEventIdLength: number;
}

/**
 * The defaults of the topic options of `Limits` (part of `DEFAULT_LIMITS`);
 * the broker warns of a published topic they refuse. @internal
 */
export const DEFAULT_TOPIC_LIMITS: TopicLimits = Object.freeze({
  maxTopics: 32,
  maxTopicLength: 128,
  topicPattern: /^[^\p{C}\s]+$/u,
  maxLastEventIdLength: 256,
});

/** Shows at most 40 characters of hostile input in a message. */
function preview(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}

/**
 * Throws a 400 {@link SSEError} naming the problem unless `topics` respect
 * `limits`. @internal
 */
export function checkTopicLimits(topics: readonly string[], limits: TopicLimits): void {
  if (topics.length > limits.maxTopics) {
    throw new SSEError(`sse: too many topics: ${topics.length} (at most ${limits.maxTopics})`, 400);
  }
  for (const topic of topics) {
    if (topic.length > limits.maxTopicLength) {
      throw new SSEError(
        `sse: topic too long: ${topic.length} characters (at most ${limits.maxTopicLength})`,
        400,
      );
    }
    limits.topicPattern.lastIndex = 0;
    if (!limits.topicPattern.test(topic)) {
      throw new SSEError(`sse: topic ${preview(topic)} has characters that are not allowed`, 400);
    }
  }
}

/** Throws a 400 {@link SSEError} for an oversized `Last-Event-ID`. @internal */
export function checkLastEventId(id: string | undefined, limits: TopicLimits): void {
  if (id !== undefined && id.length > limits.maxLastEventIdLength) {
    throw new SSEError(
      `sse: Last-Event-ID too long: ${id.length} characters (at most ${limits.maxLastEventIdLength})`,
      400,
    );
  }
}

/** True when a handler with the default limits accepts `topic`. @internal */
export function subscribable(topic: string): boolean {
  const pattern = DEFAULT_TOPIC_LIMITS.topicPattern;
  pattern.lastIndex = 0;
  return topic.length <= DEFAULT_TOPIC_LIMITS.maxTopicLength && pattern.test(topic);
}
