/**
 * One resume's replay built from shared reads: a slice per topic, merged
 * into the global order.
 */
import { ABORTED } from "../base/abort-reason.js";
import type { RangeSlice, SharedReads } from "./shared-reads.js";

/**
 * What `topics` hold after `after` in `epoch` (at most `limit` entries per
 * topic), read through `reads` (one slice per topic, each shared with the
 * other resumes of that topic), merged in seq order; undefined when a topic
 * is a miss (the other slices are then left), or `signal` aborts.
 *
 * The topics are read at different moments, so the merge stops at the
 * lowest seq every slice is complete up to: what a topic holds past it was
 * ordered after that topic's read, so after the resume's live deliveries
 * started, and comes live (after the replay, which ends below it).
 *
 * @example
 * ```ts
 * const events = await sharedReplay(reads, ["a", "b"], id.epoch, id.seq, historySize, signal);
 * if (events === undefined) return undefined; // a miss
 * ```
 */
export async function sharedReplay<E extends { seq: number }>(
  reads: SharedReads<E>,
  topics: readonly string[],
  epoch: string,
  after: number,
  limit: number,
  signal?: AbortSignal,
): Promise<E[] | undefined> {
  const left = new AbortController();
  const leave = (): void => left.abort(ABORTED);
  signal?.addEventListener("abort", leave, { once: true });
  if (signal?.aborted) leave();
  try {
    const slices = await Promise.all(
      [...new Set(topics)].map(async (topic) => {
        const slice = await reads.slice(topic, epoch, after, limit, left.signal);
        // One miss makes the replay a miss: the other topics need not wait.
        if (slice === undefined) leave();
        return slice;
      }),
    );
    if (left.signal.aborted) return undefined;
    const upTo = Math.min(...slices.map((slice) => (slice as RangeSlice<E>).upTo));
    const events: E[] = [];
    for (const slice of slices as RangeSlice<E>[]) {
      for (const { seq, value } of slice.entries) {
        if (seq <= upTo && value !== undefined) events.push(value);
      }
    }
    return events.sort((a, b) => a.seq - b.seq);
  } finally {
    signal?.removeEventListener("abort", leave);
  }
}
