/**
 * Topics PostgreSQL cannot carry. A topic is stored as `text` (the events'
 * and the presence tables' `topic` column) and sent as a `text[]`
 * parameter; `text` holds any Unicode character but NUL, and a string with
 * a lone UTF-16 surrogate reaches it as U+FFFD, so two such topics would
 * become one (their events and history mixed). Internal.
 */

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why PostgreSQL cannot carry `topic`, or undefined when it can: a NUL
 * (`\u0000`), or a lone surrogate. The broker refuses such a topic with an
 * `SSEFieldError` (a handler answers 400) before any statement is sent.
 */
export function topicProblem(topic: string): string | undefined {
  if (topic.includes("\u0000")) {
    return "PostgreSQL cannot store a NUL (\\u0000) in a topic name";
  }
  if (LONE_SURROGATE.test(topic)) {
    return "PostgreSQL stores a lone UTF-16 surrogate in a topic name as U+FFFD (two such topics would be one): use well-formed Unicode";
  }
  return undefined;
}
