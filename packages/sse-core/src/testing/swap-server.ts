// Servers and readers shared by the htmx 4 `swap` tests (not published:
// tsup bundles src/index.ts only).
import { listen, type TestServer } from "@burrow/test-utils";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { vi } from "vitest";
import { type EventBroker, handler, type SwapOption } from "../index.js";

/**
 * A node:http server with one stream endpoint per entry of `routes` (its
 * path, and the `swap` option of its handler of topics notes and status);
 * the server, then the broker, close in `cleanups`.
 */
export async function serveSwap(
  broker: EventBroker,
  routes: Record<string, SwapOption | undefined>,
  cleanups: (() => unknown)[],
): Promise<TestServer> {
  const handlers = Object.fromEntries(
    Object.entries(routes).map(([path, swap]) => [
      path,
      handler(broker, ["notes", "status"], swap === undefined ? {} : { swap }),
    ]),
  );
  const server = await listen((req, res) => handlers[req.url ?? ""]!(req, res));
  cleanups.push(
    () => server.close(),
    () => broker.close(),
  );
  return server;
}

/** Reads a fetch handler's response until it holds an event, then cancels it. */
export async function firstEvent(response: Response): Promise<EventSourceMessage> {
  const reader = response.body!.getReader();
  const got: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => got.push(e) });
  while (got.length === 0) parser.feed(new TextDecoder().decode((await reader.read()).value));
  await reader.cancel();
  return got[0]!;
}

/**
 * Process warnings emitted from now on, as `[message, options]`, none of
 * them printed; the spy is restored in `cleanups`.
 */
export function capturedWarnings(cleanups: (() => unknown)[]): unknown[][] {
  const seen: unknown[][] = [];
  const spy = vi.spyOn(process, "emitWarning").mockImplementation((...args: unknown[]) => {
    seen.push(args);
  });
  cleanups.push(() => spy.mockRestore());
  return seen;
}
