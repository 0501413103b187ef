import type { BackplaneStats } from "@burrow/sse-core";

/** `broker.stats().backplane` with a Redis backplane. */
export interface RedisBackplaneStats extends BackplaneStats {
  /** Events sent to Redis from this process, ever. */
  published: number;
  /**
   * Events recovered from the streams after this process's subscription to
   * Redis was cut (published meanwhile by other processes), ever.
   */
  recovered: number;
  /**
   * Times a reconnection could not recover what was published meanwhile
   * (Redis lost its data, or history is off or too short), ever.
   */
  gaps: number;
  /** The last error seen, if any. */
  lastError: string | undefined;
  /** Events sent to Redis from this process and not answered yet, now (at most `maxPending`). */
  pending: number;
  /**
   * Events published here while `maxPending` were unanswered: not sent to
   * Redis, delivered on this process only, ever.
   */
  overflow: number;
  /**
   * Times a connection was closed because Redis did not answer within
   * `timeoutMs` (each reconnection attempt to a hung Redis counts), ever.
   */
  timeouts: number;
  /** Resumes reading history from Redis or waiting their turn (see `maxReplays`), now. */
  replays: number;
  /** Resumes whose client left before their turn: nothing was read for them, ever. */
  replaysSkipped: number;
  /** Presence sweeps for processes that stopped renewing their members run here, ever. */
  presenceSweeps: number;
}
