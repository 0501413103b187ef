import { encodeValid, type SSEEvent, validateEvent } from "./encode.js";
import type { TopicRule } from "./topic-policy.js";

/**
 * One published event, validated and encoded once, shared by every client that
 * receives it. Internal.
 */
export interface Frame {
  readonly event: Readonly<SSEEvent>;
  /** Its wire bytes as a named event (`event: <type>`): what every stream sends by default. */
  readonly chunk: Uint8Array;
  /** Place in the broker's publish order when history is on, else 0. */
  readonly seq: number;
  /** The topic it was published on ("" for a frame of no topic: a signal, a request stream's event). */
  readonly topic: string;
  /** Its other encodings (htmx 4 messages), made on first use and shared by every stream that sends them. */
  variants?: Map<object, Uint8Array>;
  /** Its topic's rule when the app declared one (a state topic, a log with a snapshot); else none. */
  readonly rule?: TopicRule;
  /**
   * Set on a snapshot: the CSS selector of the region whose content its
   * `event.data` replaces (never appended). Its `chunk` carries it as an
   * htmx 2 out-of-band swap; htmx 4 streams send an `<hx-partial>`.
   */
  readonly replaces?: string;
}

/**
 * How a stream turns a frame into bytes, when not as {@link Frame.chunk}
 * (the default). Implemented by the htmx 4 message format.
 * @internal
 */
export interface FrameFormat {
  bytes(frame: Frame): Uint8Array;
}

const encoder = new TextEncoder();

/** No bytes: what a client with nothing queued hands its transport. @internal */
export const EMPTY = new Uint8Array(0);

/** Encodes a string to UTF-8 bytes. @internal */
export function toBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * The frame of `event` (already validated; frozen here), encoded once;
 * `rule`, its topic's declared rule, if any. @internal
 */
export function frameOf(topic: string, event: SSEEvent, seq: number, rule?: TopicRule): Frame {
  const chunk = toBytes(encodeValid(event));
  return rule === undefined
    ? { event: Object.freeze(event), chunk, seq, topic }
    : { event: Object.freeze(event), chunk, seq, topic, rule };
}

/** A frame's bytes in `format` (default: its named-event chunk). @internal */
export function bytesOf(frame: Frame, format: FrameFormat | undefined): Uint8Array {
  return format === undefined ? frame.chunk : format.bytes(frame);
}

/**
 * The frame of an event that was not checked here (it came through a
 * backplane): validated (an {@link SSEFieldError} when it cannot be
 * encoded), then encoded once. @internal
 */
export function receivedFrame(
  topic: string,
  event: SSEEvent,
  seq: number,
  rule?: TopicRule,
): Frame {
  validateEvent(event);
  return frameOf(topic, event, seq, rule);
}

/**
 * A copy of `frame` whose event carries `id` instead (encoded again; its
 * other encodings made anew on first use), at `seq` (default: its own).
 * @internal
 */
export function frameWithId(frame: Frame, id: string, seq = frame.seq): Frame {
  const event = Object.freeze({ ...frame.event, id });
  const copy: Frame = { ...frame, event, chunk: toBytes(encodeValid(event)), seq };
  delete copy.variants;
  return copy;
}
