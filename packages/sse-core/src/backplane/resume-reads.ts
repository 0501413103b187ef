/**
 * The reads of an engine's resumes, as every engine builds them: shared
 * ({@link SharedReads}), taking turns ({@link ReplayQueue}) under a limit
 * that adapts to how fast the engine answers ({@link AdaptiveLimit}).
 */
import { AdaptiveLimit } from "./adaptive-limit.js";
import { ReplayQueue } from "./replay-queue.js";
import { type RangeReader, SharedReads } from "./shared-reads.js";

/** What {@link resumeReads} builds: the `reads` and `limit` of a `ResumeEngine`. */
export interface ResumeReads<E> {
  /** The engine's history reads, shared by its resumes, one turn each. */
  readonly reads: SharedReads<E>;
  /** The reads allowed at once: `maxReplays` at first, fewer while the engine answers slowly. */
  readonly limit: AdaptiveLimit;
}

/**
 * An engine's resume reads: `read` shared by the resumes of each topic
 * waiting, at most `maxReplays` at once, fewer while reads take longer
 * than the fastest recent ones (each read's latency per entry samples the
 * limit), and held while resumes arrive in a storm. Spread into the
 * engine's `BackplaneResumes`.
 *
 * @example
 * ```ts
 * const resumes = new BackplaneResumes({
 *   ...resumeReads(readRange, maxReplays),
 *   timeoutMs,
 *   ready: () => link.state === "ready",
 *   // ...the engine's other pieces (see ResumeEngine)
 * });
 * ```
 */
export function resumeReads<E>(read: RangeReader<E>, maxReplays: number): ResumeReads<E> {
  const limit = new AdaptiveLimit({ max: maxReplays, initial: maxReplays });
  const reads = new SharedReads(read, new ReplayQueue(limit), (ms, size) => limit.sample(ms, size));
  return { reads, limit };
}
