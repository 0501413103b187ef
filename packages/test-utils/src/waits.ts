/** Waiting on state, never on time: pollers and what a call threw. */
import { vi } from "vitest";

/**
 * Records every client `broker.subscribe()` returns from now on (in the
 * order the requests reached the broker), still calling the real method.
 */
export function recordSubscriptions<C>(broker: { subscribe(...args: never[]): C }): C[] {
  const clients: C[] = [];
  const subscribe = broker.subscribe.bind(broker) as (...args: unknown[]) => C;
  vi.spyOn(broker, "subscribe").mockImplementation(((...args: unknown[]) => {
    const client = subscribe(...args);
    clients.push(client);
    return client;
  }) as never);
  return clients;
}

/** The next `n` values of `iterable` (fewer if it ends first), e.g. a broker client's events. */
export async function take<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const it = iterable[Symbol.asyncIterator]();
  const out: T[] = [];
  while (out.length < n) {
    const { value, done } = await it.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

/** Runs `fn` and returns what it throws; fails the test when it throws nothing. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error, nothing was thrown");
}

/** Awaits `promise` and returns what it rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection, the promise resolved");
    },
    (err: unknown) => err,
  );
}

/**
 * Polls `predicate` until it holds; rejects after `timeoutMs` with `message`.
 * The timeout only guards against a hang: tests assert on state, never on time.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  message = "condition",
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`waitFor: timed out waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
