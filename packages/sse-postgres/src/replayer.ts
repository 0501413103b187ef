/**
 * Resumes: reading what a client's topics retained after its
 * `Last-Event-ID`, once their LISTENs are answered, through reads shared
 * with the other resumes of the same topics (the backplane kit's
 * `SharedReads`: one snapshot per topic read), at most `maxReplays` reads
 * at a time (fewer while PostgreSQL answers slowly), and ordered after the
 * live copies of what was read (the kit's `BackplaneResumes`); and, the
 * same way, a topic's latest event. Internal.
 */
import { BackplaneResumes, type RangeReader, resumeReads } from "@burrow/sse-core/adapter";
import { readLast, readRange, type StoredEvent } from "./history-reader.js";
import type { Link } from "./link.js";
import type { Subscriptions } from "./subscriptions.js";

/**
 * The resumes of one backplane (`replay`, `last` and their counters: see
 * the kit's `BackplaneResumes`), on PostgreSQL. Internal.
 */
export class Replayer extends BackplaneResumes<StoredEvent> {
  constructor(
    link: Link,
    subscriptions: Subscriptions,
    options: { maxReplays: number; timeoutMs: number },
  ) {
    const read: RangeReader<StoredEvent> = (topic, epoch, after, count) =>
      link.state === "ready"
        ? readRange(link.history(), topic, epoch, after, count)
        : Promise.resolve(undefined);
    super({
      // Reads at once, adapted to how fast PostgreSQL answers, at most `maxReplays`.
      ...resumeReads(read, options.maxReplays),
      timeoutMs: options.timeoutMs,
      ready: () => link.state === "ready",
      synced: () => link.synced,
      // A LISTEN is bounded on the listening connection; a failed one rejects (a miss).
      answered: (topics) => subscriptions.answered(topics).then(() => true),
      // One NOTIFY to itself, bounded by the listener (a late one rejects: a miss).
      barrier: () => link.listener!.barrier().then(() => true),
      readLast: (topic) => readLast(link.history(), topic),
    });
  }
}
