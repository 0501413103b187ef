/**
 * The wire format between processes, as the Lua scripts write it (see
 * `scripts.ts`): the keys and channel of a topic, a channel message, a
 * publish's origin (ids and origins are the backplane kit's: `formatEventId`,
 * `formatOrigin`). Pure functions: whatever
 * Redis holds (another program may write to the same prefix) decodes to a
 * well-formed value or to `undefined`, never throws. Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { formatEventId, parseEventJson } from "@burrow/sse-core/adapter";

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
  /** Who published it (see the kit's `formatOrigin`); any string. */
  origin: string;
  /** The event; its `id` is `<epoch>-<seq>` when the script assigned it and it had none. */
  event: SSEEvent;
  /** A gap marker (`event` empty): the topic's events overflowed the publisher's `maxPending`. */
  gap?: boolean;
}

/**
 * Decodes a channel message, `<seq>\n<epoch>\n<origin>\n<assigned>\n<event JSON>`,
 * or a gap marker, `<seq>\n<epoch>\n<origin>\ngap\n`; undefined when it is not one (fewer fields, a seq that is not a safe
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
  const gap = assigned === "gap" && start === raw.length;
  const event = gap ? {} : parseEventJson(raw.slice(start));
  if (!/^\d+$/.test(seqText) || !Number.isSafeInteger(seq) || event === undefined) {
    return undefined;
  }
  if (assigned === "1" && !event.id) event.id = formatEventId(epoch, seq);
  return gap ? { seq, epoch, origin, event, gap } : { seq, epoch, origin, event };
}
