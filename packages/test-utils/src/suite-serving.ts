/** What the adapter suites share per test: the routes served, and the clients opened. */
import { afterEach, expect } from "vitest";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import { type RawClient, type RecordingEventSource, rawClient, recordEvents } from "./clients.js";
import type { TestServer } from "./server.js";

/** A test's server and clients, closed after it (see {@link suiteServing}). */
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
  /** A raw TCP client of `path` on the server at `url`, sending `headers`. */
  raw(url: string, path: string, headers?: Record<string, string>): RawClient;
  /** What reached the framework's error handling so far, taken (the `afterEach` wants none left). */
  takeErrors(): unknown[];
  /** Runs `restore` (a spy's `mockRestore`) after the test, before anything closes. */
  restoreAfter(restore: () => void): void;
}

/**
 * Registers, in the calling `describe`, an `afterEach` that closes the
 * test's clients and server and expects nothing in its framework's error
 * handling; returns how a test serves routes and opens clients.
 */
export function suiteServing<B extends SuiteBroker, Req, H>(
  harness: AdapterHarness<B, Req, H>,
): SuiteServing<Req, H> {
  let running: { server: TestServer; errors: unknown[] } | undefined;
  const clients: { close(): void }[] = [];
  const restores: (() => void)[] = [];
  afterEach(async () => {
    for (const restore of restores.splice(0)) restore();
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
    raw(url, path, headers = {}) {
      const client = rawClient(Number(new URL(url).port), path, { headers });
      clients.push(client);
      return client;
    },
    takeErrors() {
      return running!.errors.splice(0);
    },
    restoreAfter(restore) {
      restores.push(restore);
    },
  };
}
