import { SSEFieldError } from "../base/errors.js";
import { closestName, optionKeys } from "../base/option-checks.js";

/**
 * One Server-Sent Event, as published and as written on the wire. `D` is the
 * type of its `data`: a typed broker's publish asks for the type its topic
 * map gives the topic (see `TopicMap`).
 */
export interface SSEEvent<D extends string = string> {
  /** The `event:` field; htmx's `sse-swap` matches it. Defaults to the topic on publish. */
  type?: string;
  /** The `data:` payload; any line break (CR, LF, CRLF) becomes a new `data:` line. */
  data?: D;
  /** The `id:` field; the browser sends the last one back as `Last-Event-ID`. */
  id?: string;
  /** The `retry:` field: reconnection delay in milliseconds. 0 is omitted. */
  retry?: number;
}

// A field value may not hold a line end (it would start a new field) nor NUL
// (browsers ignore an id holding one).
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;
const LINE_BREAK = /\r\n|\r|\n/;

function checkField(field: "id" | "type", value: unknown): value is string {
  if (value === undefined || value === "") return false;
  if (typeof value !== "string") {
    throw new SSEFieldError(field, `must be a string, got ${typeof value}`, value);
  }
  if (FORBIDDEN_IN_FIELD.test(value)) {
    throw new SSEFieldError(field, "must not contain CR, LF or NUL", value);
  }
  return true;
}

/** Every key of {@link SSEEvent} (a field missing here, or not a field, fails to compile). */
const EVENT_FIELDS: readonly string[] = optionKeys<SSEEvent>()(["type", "data", "id", "retry"]);
/** Names a user may reach for, and the field they mean. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  event: "type",
  name: "type",
  lastEventId: "id",
  message: "data",
};

/**
 * Throws {@link SSEFieldError} (field `"event"`) for a key of `event` that
 * is not an event field, naming the field it most likely means (`event` is
 * `type`): a misspelled key would otherwise be dropped silently. @internal
 */
export function checkEventKeys(event: object): void {
  for (const key in event) {
    if (EVENT_FIELDS.includes(key)) continue;
    const meant = Object.hasOwn(FIELD_ALIASES, key)
      ? FIELD_ALIASES[key]
      : closestName(key, EVENT_FIELDS);
    throw new SSEFieldError(
      "event",
      `\`${key}\` is not an event field (an event has type, data, id and retry)${meant === undefined ? "" : `: did you mean \`${meant}\`?`}`,
      event,
    );
  }
}

/**
 * Throws {@link SSEFieldError} unless `event` can be encoded safely. Called once
 * per publish, before any client sees the event.
 */
export function validateEvent(event: SSEEvent): void {
  if (typeof event !== "object" || event === null) {
    throw new SSEFieldError("data", "an event must be an object", event);
  }
  checkField("id", event.id);
  checkField("type", event.type);
  const { retry, data } = event;
  if (retry !== undefined && !(Number.isSafeInteger(retry) && retry >= 0)) {
    throw new SSEFieldError("retry", "must be a non-negative integer", retry);
  }
  if (data !== undefined && typeof data !== "string") {
    throw new SSEFieldError("data", `must be a string, got ${typeof data}`, data);
  }
}

/**
 * A checked copy of `event`, to publish or send: an object of known fields
 * (else an {@link SSEFieldError} naming the key), its `type` set to `type`
 * when it has none, every field valid. @internal
 */
export function checkedCopy(event: SSEEvent, type?: string): SSEEvent {
  // Spreading null or a string would give an empty event: reject it as encodeEvent does.
  if (typeof event !== "object" || event === null) validateEvent(event);
  const copy: SSEEvent = { ...event };
  checkEventKeys(copy);
  if (type !== undefined && !copy.type) copy.type = type;
  validateEvent(copy);
  return copy;
}

/**
 * Encodes one event into its exact wire bytes: `id`, `event`, `retry`, one
 * `data:` line per line of data, then a blank line. Throws {@link SSEFieldError}
 * for a field that could forge another field or event, or a key that is not
 * an event field.
 *
 * @example
 * ```ts
 * encodeEvent({ type: "update", id: "7", retry: 3000, data: "payload" });
 * // "id: 7\nevent: update\nretry: 3000\ndata: payload\n\n"
 * ```
 */
export function encodeEvent(event: SSEEvent): string {
  validateEvent(event);
  checkEventKeys(event);
  return encodeValid(event);
}

/**
 * Encodes an event that {@link validateEvent} already accepted.
 * @internal
 */
export function encodeValid(event: SSEEvent): string {
  let out = "";
  if (event.id) out += `id: ${event.id}\n`;
  if (event.type) out += `event: ${event.type}\n`;
  if (event.retry) out += `retry: ${event.retry}\n`;
  const data = event.data ?? "";
  if (data.includes("\n") || data.includes("\r")) {
    for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  } else {
    out += `data: ${data}\n`;
  }
  return `${out}\n`;
}

/**
 * Encodes an SSE comment, which clients ignore; used as a keepalive.
 * A multi-line text becomes one comment line per line.
 *
 * @example
 * ```ts
 * encodeComment("keepalive"); // ":keepalive\n\n"
 * ```
 */
export function encodeComment(text: string): string {
  let out = "";
  for (const line of String(text).split(LINE_BREAK)) out += `:${line}\n`;
  return `${out}\n`;
}
