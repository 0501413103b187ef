import type { Pool, PoolClient, QueryResult } from "pg";
import type { Statement } from "./schema.js";

/** A statement or a connection attempt that PostgreSQL left unanswered past `timeoutMs`. Internal. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** SQLSTATEs of a statement cancelled by `statement_timeout` or `lock_timeout`. */
const TIMEOUT_CODES = new Set(["57014", "55P03"]);

/** Whether `error` means PostgreSQL did not answer in time (client or server side). */
export function isTimeout(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  const { code, message } = error as { code?: string; message?: string };
  return (
    (code !== undefined && TIMEOUT_CODES.has(code)) ||
    /timeout/i.test(typeof message === "string" ? message : "")
  );
}

/**
 * `promise`, or a rejection with a {@link TimeoutError} if it has not
 * settled after `ms`. The timer does not keep the process alive.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer for ${ms} ms to ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * How long the client waits for a statement's answer: a moment longer than
 * the server's own bound (a tenth more, 50 ms to 1 s), so that a statement
 * the server cancels for its time (a held lock) is told by the server, and
 * not taken for silence (a hang).
 */
export function clientBound(timeoutMs: number): number {
  return timeoutMs + Math.min(1000, Math.max(50, Math.round(timeoutMs / 10)));
}

/**
 * Runs `statements` in one transaction on a connection of `pool`, every step
 * bounded by `timeoutMs`: on the server (`statement_timeout`, `lock_timeout`
 * and `idle_in_transaction_session_timeout`) and, a moment later (see
 * {@link clientBound}), on the client (no answer in time: the connection is
 * destroyed, never reused). With `sessionBounded`
 * (the pool's sessions were opened with those settings: the backplane's own
 * pool), a single statement runs alone, in one round trip; otherwise (an
 * app's pool, which keeps its own settings) they are set for this
 * transaction only. Resolves with each statement's result. Internal.
 */
export async function transaction(
  pool: Pool,
  timeoutMs: number,
  statements: readonly Statement[],
  sessionBounded = false,
): Promise<QueryResult[]> {
  const connecting = pool.connect();
  let client: PoolClient;
  try {
    client = await within(connecting, timeoutMs, "a connection request");
  } catch (error) {
    // A connection that comes after all is given back, and not reused.
    connecting.then(
      (late) => late.release(true),
      () => {},
    );
    throw error;
  }
  // An error between two statements (the backend terminated) is emitted on the client, not
  // thrown: without a listener it would crash the process. The next statement fails instead.
  const ignore = (): void => {};
  client.on("error", ignore);
  const ms = Math.max(1, Math.floor(timeoutMs));
  const run = (text: string, values?: unknown[]): Promise<QueryResult> =>
    within(client.query(text, values), clientBound(timeoutMs), "a statement");
  try {
    if (sessionBounded && statements.length === 1) {
      const result = await run(statements[0]!.text, statements[0]!.values);
      client.off("error", ignore);
      client.release();
      return [result];
    }
    await run(
      `BEGIN; SET LOCAL statement_timeout = ${ms}; SET LOCAL lock_timeout = ${ms}; SET LOCAL idle_in_transaction_session_timeout = ${ms}`,
    );
    const results: QueryResult[] = [];
    for (const statement of statements) results.push(await run(statement.text, statement.values));
    await run("COMMIT");
    client.off("error", ignore);
    client.release();
    return results;
  } catch (error) {
    // Destroyed rather than rolled back (it may be hung, or mid-transaction); still listened to.
    client.release(true);
    throw error;
  }
}
