/**
 * `promise`, or `fallback` when it has not settled after `ms` milliseconds.
 * A rejection passes through. The timer does not keep the process alive,
 * and is cleared as soon as the race is decided.
 *
 * @example
 * ```ts
 * // A backplane read bounded by a timeout: undefined when it hangs.
 * const event = await within(backplane.last(topic), 1_000, undefined);
 * ```
 */
export function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref?.();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
