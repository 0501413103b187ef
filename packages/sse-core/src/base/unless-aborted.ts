/**
 * `promise`, or `fallback` as soon as `signal` aborts (at once when it has
 * already): a wait that a client who left need not sit out. A rejection
 * passes through (a later one, after the abort, is handled and dropped); the
 * abort listener is removed once the race is decided.
 *
 * @example
 * ```ts
 * // A step of a resume: nothing more to wait for once its client has left.
 * if (!(await unlessAborted(engine.answered(topics), signal, false))) return undefined;
 * ```
 */
export function unlessAborted<T, F>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  fallback: F,
): Promise<T | F> {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const leave = (): void => resolve(fallback);
    if (signal.aborted) leave();
    else signal.addEventListener("abort", leave, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", leave);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", leave);
        reject(err);
      },
    );
  });
}
