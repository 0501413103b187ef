/**
 * The wire format between processes, as the Lua scripts write it (see
 * `scripts.ts`): the keys and channel of a topic, a channel message (a batch,
 * or the single-event form of earlier versions), a publish's origin (ids and origins are the backplane kit's: `formatEventId`,
 * `formatOrigin`). Pure functions: whatever
 * Redis holds (another program may write to the same prefix) decodes to a
 * well-formed value or to `undefined`, never throws. Internal.
 */
import type { SSEEvent } from "@burrow/sse-core";
import { formatEventId, type OrderedEvent, parseEventJson } from "@burrow/sse-core/adapter";

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
 * Decodes a channel message into the events it carries, in order: a batch
 * (see {@link decodeBatch}), or one event in the single-event form that
 * versions before the batch published (see {@link decodeMessage}; kept so
 * that, during a rolling deploy, the events of processes still running such
 * a version are not lost here). Undefined when it is neither.
 */
export function decodeMessages(raw: string): WireMessage[] | undefined {
  if (raw.startsWith(BATCH_TAG)) return decodeBatch(raw);
  const message = decodeMessage(raw);
  return message === undefined ? undefined : [message];
}

/**
 * `message`, received on `topic`'s channel, as the order takes it;
 * `delivered` when this process needs not deliver it (see `Publisher.delivered`).
 */
export function orderedEvent(
  topic: string,
  message: WireMessage,
  delivered: boolean,
): OrderedEvent {
  const { seq, epoch, event, gap = false } = message;
  return { topic, seq, epoch, event, delivered, gap };
}

/** What a batch message starts with; a single-event message starts with a digit. */
const BATCH_TAG = "B\n";

/** Lines of a batch before its events: the tag, epoch, assigned, first seq, count. */
const BATCH_HEADER = 5;

/**
 * Decodes a batch message, the events one script call ordered:
 * `B\n<epoch>\n<assigned>\n<first seq>\n<count>\n`, then for each event
 * `<origin>\n<event JSON>\n` (the JSON empty for a gap marker; JSON.stringify
 * writes no raw newline). The script numbers them consecutively, so the n-th
 * has seq `<first seq> + n`; `<assigned>` is "1" when the script assigned an
 * id to those that had none, else "0". Undefined when the message is not
 * one (a field out of shape, a count other than the events it holds, a last
 * seq past the safe integers); an event whose JSON is not an object is left
 * out, as a single-event message of one is.
 */
export function decodeBatch(raw: string): WireMessage[] | undefined {
  const lines = raw.split("\n");
  if (lines.length <= BATCH_HEADER || lines[0] !== "B" || lines.at(-1) !== "") return undefined;
  const [, epoch, assigned, firstText, countText] = lines as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (!isCount(firstText) || !isCount(countText) || (assigned !== "0" && assigned !== "1")) {
    return undefined;
  }
  const first = Number(firstText);
  const count = Number(countText);
  if (count === 0 || lines.length !== BATCH_HEADER + 2 * count + 1) return undefined;
  if (first > Number.MAX_SAFE_INTEGER - (count - 1)) return undefined; // The last seq: safe too.
  const messages: WireMessage[] = [];
  for (let i = 0; i < count; i++) {
    const origin = lines[BATCH_HEADER + 2 * i]!;
    const json = lines[BATCH_HEADER + 2 * i + 1]!;
    const seq = first + i;
    if (json === "") {
      messages.push({ seq, epoch, origin, event: {}, gap: true });
      continue;
    }
    const event = parseEventJson(json);
    if (event === undefined) continue;
    if (assigned === "1" && !event.id) event.id = formatEventId(epoch, seq);
    messages.push({ seq, epoch, origin, event });
  }
  return messages;
}

/** Whether `text` is a seq or a count: decimal digits only, a safe integer. */
function isCount(text: string): boolean {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text));
}

/**
 * Decodes a single-event channel message (the form of versions before the
 * batch), `<seq>\n<epoch>\n<origin>\n<assigned>\n<event JSON>`,
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
  if (!isCount(seqText) || event === undefined) return undefined;
  if (assigned === "1" && !event.id) event.id = formatEventId(epoch, seq);
  return gap ? { seq, epoch, origin, event, gap } : { seq, epoch, origin, event };
}
