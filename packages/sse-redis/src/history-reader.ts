import type { SSEEvent } from "@burrow/sse-core";
import {
  type BackplaneEvent,
  formatEventId,
  parseEventJson,
  type RangeEntry,
  type TopicRange,
} from "@burrow/sse-core/adapter";
import { topicKeys } from "./codec.js";
import { REPLAY_PAGE, type ScriptedRedis } from "./scripts.js";
import { within } from "./within.js";

/** An event read from a stream, with who published it. */
export interface StoredEvent extends BackplaneEvent {
  /** `<process>:<publish number>` of its publisher. */
  origin: string | undefined;
}

/** What {@link readHistory} reads. */
export interface HistoryRead {
  redis: ScriptedRedis;
  prefix: string;
  topics: readonly string[];
  epoch: string;
  /** The seq to read after. */
  after: number;
  /** Most events read per topic: a topic holding more after `after` is a miss. */
  limit: number;
  /** Each page unanswered this long makes the read a miss; none waits forever. */
  timeoutMs?: number | undefined;
  /** Stops the read between pages (its client left): a miss. */
  signal?: AbortSignal | undefined;
}

type StreamEntry = [id: string, fields: string[]];
type PageReply = [entries: StreamEntry[], done: number][] | null;

/**
 * Reads the events of `topics` after `after`, merged in seq order, in pages
 * of at most {@link REPLAY_PAGE} entries so that Redis serves other clients
 * between them. Undefined when resuming there would leave a gap (unknown
 * epoch or seq, an evicted event, more than `limit` events in a topic), or
 * a page is not answered in time, or the signal aborts. Internal.
 */
export async function readHistory(read: HistoryRead): Promise<StoredEvent[] | undefined> {
  const { redis, prefix, topics, epoch, after, limit } = read;
  const cursors = topics.map(() => after);
  const counts = topics.map(() => 0);
  let open = topics.map((_, i) => i);
  const events: StoredEvent[] = [];
  while (open.length > 0) {
    if (read.signal?.aborted) return undefined;
    const keys = [
      `${prefix}meta`,
      `${prefix}evicted`,
      ...open.map((i) => topicKeys(prefix, topics[i]!).stream),
    ];
    const args = open.flatMap((i) => [topics[i]!, cursors[i]!, limit + 1 - counts[i]!]);
    const answer = redis.sseReplayPage(keys.length, ...keys, epoch, after, REPLAY_PAGE, ...args);
    const reply = (
      read.timeoutMs === undefined ? await answer : await within(answer, read.timeoutMs, null)
    ) as PageReply;
    if (reply === null) return undefined;
    const stillOpen: number[] = [];
    reply.forEach(([entries, done], k) => {
      const i = open[k]!;
      for (const [id, fields] of entries) {
        const seq = Number.parseInt(id, 10);
        cursors[i] = seq;
        counts[i]!++;
        const event = entryEvent(epoch, seq, fields);
        if (event === undefined) continue;
        events.push({ topic: topics[i]!, event, seq, origin: fieldOf(fields, "o") });
      }
      if (done !== 1) stillOpen.push(i);
    });
    if (counts.some((count) => count > limit)) return undefined;
    open = stillOpen;
  }
  return events.sort((a, b) => a.seq - b.seq);
}

/** Where {@link readRange} reads: the connection, the prefix, each page's bound. */
export interface RangeSource {
  redis: ScriptedRedis;
  prefix: string;
  timeoutMs: number;
}

/**
 * Reads `count` entries of `topic`'s stream after `after` in `epoch` (a
 * shared replay's read, see the kit's `SharedReads`), in pages of at most
 * {@link REPLAY_PAGE} entries so that Redis serves other clients between
 * them. Its floor is the highest seq up to which the topic evicted events
 * not read yet when a page was read (a cursor below it is a miss), its head
 * the counter when the last page was read. Undefined when the epoch
 * differs, a page is not answered within `timeoutMs`, or `signal` aborts.
 * Internal.
 */
export async function readRange(
  source: RangeSource,
  topic: string,
  epoch: string,
  after: number,
  count: number,
  signal: AbortSignal,
): Promise<TopicRange<StoredEvent> | undefined> {
  const { redis, prefix, timeoutMs } = source;
  const keys = topicKeys(prefix, topic);
  const entries: RangeEntry<StoredEvent>[] = [];
  let cursor = after;
  let floor = 0;
  for (;;) {
    if (signal.aborted) return undefined;
    const wanted = Math.min(REPLAY_PAGE, count - entries.length);
    const answer = redis.sseRange(
      `${prefix}meta`,
      `${prefix}evicted`,
      keys.stream,
      epoch,
      topic,
      cursor,
      wanted,
    );
    const reply = await within(answer, timeoutMs, null);
    if (reply === null) return undefined;
    const [head, evicted, page] = reply;
    // Evicted past what was read: those events are gone for every cursor below.
    if (Number(evicted) > cursor) floor = Math.max(floor, Number(evicted));
    for (const [id, fields] of page) {
      const seq = Number.parseInt(id, 10);
      cursor = seq;
      const event = entryEvent(epoch, seq, fields);
      const value =
        event === undefined ? undefined : { topic, event, seq, origin: fieldOf(fields, "o") };
      entries.push({ seq, value });
    }
    const complete = page.length < wanted;
    if (complete || entries.length >= count) {
      return { entries, complete, head: Number(head), floor };
    }
  }
}

/**
 * The latest event `topic`'s stream holds, or undefined when it holds none
 * (or its newest entry is not an event). Internal.
 */
export async function readLast(
  redis: ScriptedRedis,
  prefix: string,
  topic: string,
): Promise<BackplaneEvent | undefined> {
  const reply = await redis.sseLast(`${prefix}meta`, topicKeys(prefix, topic).stream);
  if (reply === null) return undefined;
  const [epoch, [id, fields]] = reply;
  const seq = Number.parseInt(id, 10);
  const event = entryEvent(epoch, seq, fields);
  return event === undefined || !(seq > 0) ? undefined : { topic, event, seq };
}

/** The event of a stream entry (its id set when the backplane assigned it), or undefined. */
function entryEvent(epoch: string, seq: number, fields: readonly string[]): SSEEvent | undefined {
  const event = parseEventJson(fieldOf(fields, "e"));
  if (event !== undefined && fieldOf(fields, "a") === "1" && !event.id) {
    event.id = formatEventId(epoch, seq);
  }
  return event;
}

/** The value of `name` in a stream entry's flat field list. */
function fieldOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
