/**
 * The reason the core aborts its own signals with (a client left, nobody
 * waits for a read any more): one `AbortError`, made once. `abort()` with
 * no reason makes a new `DOMException` each time, stack trace included,
 * which costs when thousands of clients leave or resume at once.
 *
 * @example
 * ```ts
 * const left = new AbortController();
 * left.abort(ABORTED);
 * left.signal.reason.name; // "AbortError"
 * ```
 */
export const ABORTED: DOMException = new DOMException("This operation was aborted", "AbortError");
