/** What the adapter suites share per test: the routes served, and the event sources opened. */
import { afterEach, expect } from "vitest";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import { type RecordingEventSource, recordEvents } from "./clients.js";
import type { TestServer } from "./server.js";

/** A test's server and event sources, closed after it (see {@link suiteServing}). */
export interface SuiteServing<Req, H> {
  /** Serves `routes` (see {@link AdapterHarness.serve}); resolves with the server's URL. */
  serve(routes: Parameters<AdapterHarness<SuiteBroker, Req, H>["serve"]>[0]): Promise<string>;
  /** The server of the running test, and what reached its framework's error handling. */
  readonly running: { server: TestServer; errors: unknown[] } | undefined;
  /** An `EventSource` on `url` recording `types`, sending `headers` with its requests too. */
  watch(
    url: string,
    types: readonly string[],
    headers?: Record<string, string>,
  ): RecordingEventSource;
}

/**
 * Registers, in the calling `describe`, an `afterEach` that closes the
 * test's event sources and server and expects nothing in its framework's
 * error handling; returns how a test serves routes and watches streams.
 */
export function suiteServing<B extends SuiteBroker, Req, H>(
  harness: AdapterHarness<B, Req, H>,
): SuiteServing<Req, H> {
  let running: { server: TestServer; errors: unknown[] } | undefined;
  const clients: RecordingEventSource[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await running?.server.close();
    expect(running?.errors ?? []).toEqual([]);
    running = undefined;
  });
  return {
    async serve(routes) {
      running = await harness.serve(routes);
      return running.server.url;
    },
    get running() {
      return running;
    },
    watch(url, types, headers = {}) {
      const client = recordEvents(url, types, {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
      });
      clients.push(client);
      return client;
    },
  };
}
