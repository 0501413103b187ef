// Reading what a client has queued, in tests of repairs across brokers (not
// published: tsup bundles src/index.ts only).
import type { Client, SSEEvent } from "../index.js";

/** Lets the event loop turn `n` times (deliveries and renders run). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Each client's iterator, and a `next()` that has not settled yet (it gets the next event). */
const readers = new WeakMap<
  Client,
  { iterator: AsyncIterator<SSEEvent>; pending?: Promise<IteratorResult<SSEEvent>> }
>();

/** Reads what `client` has queued now (without waiting for more). */
export async function drain(client: Client): Promise<SSEEvent[]> {
  let reader = readers.get(client);
  if (reader === undefined) {
    reader = { iterator: client[Symbol.asyncIterator]() };
    readers.set(client, reader);
  }
  const events: SSEEvent[] = [];
  for (;;) {
    reader.pending ??= reader.iterator.next();
    const next = await Promise.race([reader.pending, turns(3).then(() => undefined)]);
    if (next === undefined) return events;
    reader.pending = undefined;
    if (next.done === true) return events;
    events.push(next.value);
  }
}
