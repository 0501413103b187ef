import type { BackplaneEngineStats } from "@burrow/sse-core/adapter";

/**
 * `broker.stats().backplane` with a PostgreSQL backplane: the backplane
 * kit's engine stats (its `timeouts` count statements and connection
 * attempts PostgreSQL left unanswered past `timeoutMs`, or cancelled by
 * `statement_timeout` / `lock_timeout`), and `pruned`.
 */
export interface PostgresBackplaneStats extends BackplaneEngineStats {
  /** Events this process deleted for being older than `retentionMs`, ever. */
  pruned: number;
}
