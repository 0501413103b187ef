import type { Backplane } from "../backplane/backplane.js";
import { SSEFieldError } from "../base/errors.js";
import { warn } from "../base/warn.js";
import { DEFAULT_TOPIC_LIMITS, subscribable } from "../wire/topic-limits.js";
import type { TopicRules } from "./topic-rules.js";

/** Topics whose check publish remembers, at most (then it starts over). */
const VETTED_MAX = 4096;

/**
 * The checks a broker makes of a topic before it goes anywhere: that its
 * backplane can carry it (else an {@link SSEFieldError}), and, on publish,
 * that a handler with the default limits accepts it. A topic that none does
 * is still published, but one warning says so, once per broker: no browser
 * can subscribe to it. @internal
 */
export class TopicChecks {
  /** Whether publish already warned about a topic no default handler accepts. */
  private warned = false;
  /** Topics found subscribable (a memo of the check; emptied past {@link VETTED_MAX}). */
  private readonly vetted = new Set<string>();

  constructor(
    private readonly backplane: Backplane | undefined,
    private readonly rules: TopicRules,
  ) {}

  /**
   * Throws {@link SSEFieldError} (field `"topic"`) for a topic the backplane
   * cannot carry, before it reaches the backplane (a handler answers 400).
   * A topic kept on this process (`local`) never reaches it.
   */
  carried(topic: string): void {
    if (this.backplane === undefined || this.rules.local(topic)) return;
    const problem = this.backplane.topicProblem?.(topic);
    if (problem !== undefined) throw new SSEFieldError("topic", problem, topic);
  }

  /** Checks `topic` (once, until the memo starts over); warns (once) if no default handler accepts it. */
  vet(topic: string): void {
    if (this.warned || this.vetted.has(topic)) return;
    if (subscribable(topic)) {
      if (this.vetted.size >= VETTED_MAX) this.vetted.clear();
      this.vetted.add(topic);
      return;
    }
    this.warned = true;
    this.vetted.clear();
    const shown = JSON.stringify(topic.length > 40 ? `${topic.slice(0, 40)}…` : topic);
    const message =
      `sse: topic ${shown} was published, but a handler with the default limits ` +
      `refuses it (white space, control characters, or more than ${DEFAULT_TOPIC_LIMITS.maxTopicLength} ` +
      'characters): no browser can subscribe to it. Name topics like "project:42", ' +
      "or give the handler a topicPattern (or maxTopicLength) that accepts it. " +
      "(Warned once per broker.)";
    warn(message, "SSE_TOPIC_UNSUBSCRIBABLE");
  }
}
