import type { SSEEvent } from "@burrow/sse-core";
import {
  type BackplaneEvent,
  formatEventId,
  parseEventJson,
  type TopicRange,
} from "@burrow/sse-core/adapter";
import type { Pool } from "pg";
import { headStatement, historyStatement, lastStatement } from "./schema.js";
import { transaction } from "./transaction.js";

/** An event read from the events table, with who published it. Internal. */
export interface StoredEvent extends BackplaneEvent {
  /** `<process>:<publish number>` of its publisher. */
  origin: string;
}

/** Where history is read: the pool, the prefix, and the bound of its statement. Internal. */
export interface HistorySource {
  pool: Pool;
  prefix: string;
  timeoutMs: number;
  /** The pool's sessions are bounded already (the backplane's own pool): one round trip. */
  sessionBounded: boolean;
}

/**
 * The events of `topics` after `after` in `epoch`, in seq order, read in
 * one snapshot; undefined when resuming there would leave a gap (another
 * epoch, a seq never issued, an event after it trimmed) or would need more
 * than `limit` (this process's `historySize`) events of a topic (another
 * process may keep more): at most `limit + 1` rows of each topic are read,
 * which bounds what one `Last-Event-ID` costs. Without history (`limit` 0),
 * undefined. Internal.
 */
export async function readHistory(
  source: HistorySource,
  topics: readonly string[],
  epoch: string,
  after: number,
  limit: number,
): Promise<StoredEvent[] | undefined> {
  if (limit === 0) return undefined;
  const [result] = await transaction(
    source.pool,
    source.timeoutMs,
    [{ text: historyStatement(source.prefix), values: [topics, after, limit + 1] }],
    source.sessionBounded,
  );
  const rows = (result?.rows ?? []) as HistoryRow[];
  const first = rows[0];
  if (
    first === undefined ||
    first.epoch !== epoch ||
    after > Number(first.head) ||
    Number(first.lost) > after
  ) {
    return undefined;
  }
  const counts = new Map<string, number>();
  const events: StoredEvent[] = [];
  for (const row of rows) {
    if (row.seq === null) continue;
    // Read one more than it keeps: a topic holding more after `after` is a miss, never a cut.
    const count = (counts.get(row.topic!) ?? 0) + 1;
    if (count > limit) return undefined;
    counts.set(row.topic!, count);
    const seq = Number(row.seq);
    const event = rowEvent(epoch, seq, row);
    if (event === undefined) continue;
    events.push({ topic: row.topic!, event, seq, origin: row.origin ?? "" });
  }
  return events;
}

/** A row of the history statement. */
interface HistoryRow {
  epoch: string;
  head: string;
  lost: string;
  seq: string | null;
  topic: string | null;
  event: string | null;
  assigned: boolean | null;
  origin: string | null;
}

/**
 * Reads `count` rows of `topic` after `after` in `epoch`, in one snapshot
 * (a shared replay's read, see the kit's `SharedReads`): its head is the
 * counter in that snapshot (every event up to it is visible: publishes take
 * their seq under the meta row's lock), its floor the seq up to which
 * events of the topic may be pruned or trimmed. Undefined in another
 * epoch; rejects when the statement fails. Internal.
 */
export async function readRange(
  source: HistorySource,
  topic: string,
  epoch: string,
  after: number,
  count: number,
): Promise<TopicRange<StoredEvent> | undefined> {
  const [result] = await transaction(
    source.pool,
    source.timeoutMs,
    [{ text: historyStatement(source.prefix), values: [[topic], after, count] }],
    source.sessionBounded,
  );
  const rows = (result?.rows ?? []) as HistoryRow[];
  const first = rows[0];
  if (first === undefined || first.epoch !== epoch) return undefined;
  const entries = rows
    .filter((row) => row.seq !== null)
    .map((row) => {
      const seq = Number(row.seq);
      const event = rowEvent(epoch, seq, row);
      const value =
        event === undefined ? undefined : { topic, event, seq, origin: row.origin ?? "" };
      return { seq, value };
    });
  return {
    entries,
    complete: entries.length < count,
    head: Number(first.head),
    floor: Number(first.lost),
  };
}

/** The newest event `topic` retains, or undefined when it retains none. Internal. */
export async function readLast(
  source: HistorySource,
  topic: string,
): Promise<BackplaneEvent | undefined> {
  const [result] = await transaction(
    source.pool,
    source.timeoutMs,
    [{ text: lastStatement(source.prefix), values: [topic] }],
    source.sessionBounded,
  );
  const row = result?.rows[0] as
    | { epoch: string; seq: string | null; event: string | null; assigned: boolean | null }
    | undefined;
  if (row === undefined || row.seq === null) return undefined;
  const seq = Number(row.seq);
  const event = rowEvent(row.epoch, seq, row);
  return event === undefined ? undefined : { topic, event, seq };
}

/** The event of an events row (its id set when the backplane assigned it), or undefined. */
function rowEvent(
  epoch: string,
  seq: number,
  row: { event: string | null; assigned: boolean | null },
): SSEEvent | undefined {
  const event = parseEventJson(row.event);
  if (event !== undefined && row.assigned && !event.id) event.id = formatEventId(epoch, seq);
  return event;
}

/** The epoch and the counter of the events table, now; undefined when it has no meta row. Internal. */
export async function readHead(
  source: HistorySource,
): Promise<{ epoch: string; seq: number } | undefined> {
  const [head] = await transaction(
    source.pool,
    source.timeoutMs,
    [{ text: headStatement(source.prefix) }],
    source.sessionBounded,
  );
  const row = head?.rows[0] as { epoch: string; seq: string } | undefined;
  return row === undefined ? undefined : { epoch: row.epoch, seq: Number(row.seq) };
}
