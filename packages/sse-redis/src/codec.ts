/**
 * The wire format between processes, as the Lua scripts write it (see
 * `scripts.ts`): the keys and channel of a topic, a channel message, a
 * publish's origin, and the ids `<epoch>-<seq>`. Pure functions: whatever
 * Redis holds (another program may write to the same prefix) decodes to a
 * well-formed value or to `undefined`, never throws. Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { parseEventJson } from "@burrow/sse-core/adapter";

/** The Redis keys and channel of one topic, under the backplane's prefix. */
export interface TopicKeys {
  /** The hash holding `epoch` and the global `seq`. */
  meta: string;
  /** The hash: topic -> highest seq trimmed from its stream. */
  evicted: string;
  /** The topic's stream (its history). */
  stream: string;
  /** The topic's channel. */
  channel: string;
}

/** The keys and channel of `topic` under `prefix`. */
export function topicKeys(prefix: string, topic: string): TopicKeys {
  return {
    meta: `${prefix}meta`,
    evicted: `${prefix}evicted`,
    stream: `${prefix}h:${topic}`,
    channel: `${channelPrefix(prefix)}${topic}`,
  };
}

/** What every topic channel's name starts with under `prefix`. */
export function channelPrefix(prefix: string): string {
  return `${prefix}t:`;
}

/** One message of a topic's channel, decoded. */
export interface WireMessage {
  /** Its place in the global order: a safe integer. */
  seq: number;
  /** The epoch of Redis's counter when it was published. */
  epoch: string;
  /** Who published it (see {@link formatOrigin}); any string. */
  origin: string;
  /** The event; its `id` is `<epoch>-<seq>` when the script assigned it and it had none. */
  event: SSEEvent;
}

/**
 * Decodes a channel message, `<seq>\n<epoch>\n<origin>\n<assigned>\n<event JSON>`;
 * undefined when it is not one (fewer fields, a seq that is not a safe
 * integer, JSON that is not an object).
 */
export function decodeMessage(raw: string): WireMessage | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < 4; i++) {
    const end = raw.indexOf("\n", start);
    if (end === -1) return undefined;
    fields.push(raw.slice(start, end));
    start = end + 1;
  }
  const [seqText, epoch, origin, assigned] = fields as [string, string, string, string];
  const seq = Number(seqText);
  const event = parseEventJson(raw.slice(start));
  if (!/^\d+$/.test(seqText) || !Number.isSafeInteger(seq) || event === undefined) {
    return undefined;
  }
  if (assigned === "1" && !event.id) event.id = formatEventId(epoch, seq);
  return { seq, epoch, origin, event };
}

/** A publish's origin: `<process>:<publish number>`. */
export function formatOrigin(process: string, nonce: number): string {
  return `${process}:${nonce}`;
}

/**
 * The publish number in `origin` when `process` published it; undefined for
 * another process's publish, or an origin that is not one.
 */
export function ownNonce(origin: string, process: string): number | undefined {
  const colon = origin.indexOf(":");
  if (colon === -1 || origin.slice(0, colon) !== process) return undefined;
  const text = origin.slice(colon + 1);
  const nonce = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(nonce) ? nonce : undefined;
}

/** An id the backplane assigns: `<epoch>-<seq>`. */
export function formatEventId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/**
 * The epoch and seq of an id the backplane assigned (`<epoch>-<seq>`, epoch
 * of `0-9a-z`); undefined for any other id (explicit, malformed, a seq past
 * the safe integers).
 */
export function parseEventId(id: string): { epoch: string; seq: number } | undefined {
  const match = /^([0-9a-z]+)-(\d+)$/.exec(id);
  if (match === null) return undefined;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { epoch: match[1]!, seq } : undefined;
}
