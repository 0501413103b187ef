// Runs against the BUILT package (`pnpm build` first; `pnpm test` does it): the
// package imports itself by name, which Node resolves through the "exports" map
// to dist/index.js (import) and dist/index.cjs (require), and its adapter-author
// API to dist/adapter.js and dist/adapter.cjs, as users get them.
import { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { Socket } from "node:net";
import { cleanupAfterEach, listen, rawClient, type TestServer, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import * as adapterSource from "./adapter.js";
import * as source from "./index.js";

type Core = typeof source;
type Adapter = typeof adapterSource;
// A variable specifier: the type checker must not need dist (typecheck runs before build).
const self = "@burrow/sse-core";
const require = createRequire(import.meta.url);
const esm = (await import(self)) as Core;
const cjs = require(self) as Core;
const esmAdapter = (await import(`${self}/adapter`)) as Adapter;
const cjsAdapter = require(`${self}/adapter`) as Adapter;

// Every runtime name of the contract (../../shared/ARCHITECTURE.md) that an app
// uses, and those added since.
const CONTRACT = [
  "encodeEvent",
  "encodeComment",
  "SSEFieldError",
  "DEFAULT_BUFFER_SIZE",
  "DEFAULT_KEEPALIVE_MS",
  "EventBroker",
  "handler",
  "handlerFunc",
  "fetchHandler",
  "withBroker",
  "brokerFrom",
] as const;
const ADDED = [
  "SSEError",
  "brokerMiddleware",
  "DEFAULT_LIMITS",
  "DEFAULT_RECONNECT_WINDOW_MS",
] as const;
// For adapter and backplane authors: at `@burrow/sse-core/adapter` only since
// issue 24 (the root's deprecated copies, and RingBuffer, are gone).
const AUTHORS_ONLY = [
  "RingBuffer",
  "serveEvents",
  "resolveBroker",
  "validateOptions",
  "validateTopics",
  "validateTopicsFn",
  "validateBroker",
  "withOnError",
  "frameworkHandlers",
  "checkKeys",
  "optionKeys",
  // The backplane kit (issue 24, item 4).
  "OrderedDelivery",
  "Readiness",
  "ReplayQueue",
  "LinkLog",
  "loggerOption",
  "positiveIntegerOption",
  "formatEventId",
  "parseEventId",
  "formatOrigin",
  "ownNonce",
  "DEFAULT_READY_TIMEOUT_MS",
  "MAX_TIMER_MS",
  // The bound on what waits for an engine (issue 26, item 5).
  "PendingBound",
  "BURST_FACTOR",
  "stallCheckMs",
  // An engine's stats from its parts, and its resume reads.
  "engineStats",
  "resumeReads",
] as const;

const cleanups = cleanupAfterEach();

describe("the built package", () => {
  it("resolves to dist, for require and for import alike", () => {
    expect(require.resolve(self)).toMatch(/[/\\]sse-core[/\\]dist[/\\]index\.cjs$/);
    // Two separate copies, neither of them the source this test file imports.
    expect(esm.EventBroker).not.toBe(cjs.EventBroker);
    expect(esm.EventBroker).not.toBe(source.EventBroker);
    expect(cjs.EventBroker).not.toBe(source.EventBroker);
  });

  it.each([
    ["ESM", esm, esmAdapter],
    ["CJS", cjs, cjsAdapter],
  ])(
    "%s exposes every contract export, and authors' names at /adapter only",
    (_name, core, adapter) => {
      for (const name of [...CONTRACT, ...ADDED]) {
        expect(core[name], name).toBeDefined();
      }
      for (const name of AUTHORS_ONLY) {
        expect(adapter[name], name).toBeDefined();
        expect(name in core, name).toBe(false);
      }
      expect(core.DEFAULT_BUFFER_SIZE).toBe(16);
      expect(core.DEFAULT_KEEPALIVE_MS).toBe(30_000);
      expect(core.encodeComment("keepalive")).toBe(":keepalive\n\n");
      expect(core.encodeEvent({ type: "update", id: "7", retry: 3000, data: "payload" })).toBe(
        "id: 7\nevent: update\nretry: 3000\ndata: payload\n\n",
      );
      const ring = new adapter.RingBuffer<number>(1);
      expect([ring.push(1), ring.push(2), ring.shift(), ring.length]).toEqual([true, false, 1, 0]);
    },
  );

  it("ESM and CJS expose the same names, and as many as the source", () => {
    const names = (core: object) => Object.keys(core).sort();
    expect(names(cjs)).toEqual(names(esm));
    expect(names(esm)).toEqual(names(source));
    expect(names(cjsAdapter)).toEqual(names(esmAdapter));
    expect(names(esmAdapter)).toEqual(names(adapterSource));
  });

  it("SSEFieldError.isInstance (and SSEError.isInstance) recognize the other copy's errors", () => {
    let thrown: unknown;
    try {
      cjs.encodeEvent({ id: "1\n2" });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(cjs.SSEFieldError);
    expect(thrown).not.toBeInstanceOf(esm.SSEFieldError); // why isInstance exists
    expect(esm.SSEFieldError.isInstance(thrown)).toBe(true);
    expect(source.SSEFieldError.isInstance(thrown)).toBe(true);
    expect((thrown as source.SSEFieldError).field).toBe("id");
    expect(esm.SSEError.isInstance(thrown)).toBe(false);

    const error = new esm.SSEError("nope", 418);
    expect(cjs.SSEError.isInstance(error)).toBe(true);
    expect(cjs.SSEFieldError.isInstance(error)).toBe(false);
    expect(cjs.SSEFieldError.isInstance(new TypeError("sse: id: forged"))).toBe(false);
  });

  it("withBroker from the CJS copy and brokerFrom from the ESM copy share the request map", () => {
    const req = new IncomingMessage(new Socket());
    const broker = new cjs.EventBroker();
    cjs.withBroker(req, broker);
    expect(esm.brokerFrom(req)).toBe(broker);
    expect(source.brokerFrom(req)).toBe(broker);

    const other = new IncomingMessage(new Socket());
    const esmBroker = new esm.EventBroker();
    esm.withBroker(other, esmBroker);
    expect(cjs.brokerFrom(other)).toBe(esmBroker);
    expect(cjs.brokerFrom(new IncomingMessage(new Socket()))).toBeUndefined();
  });

  it("an ESM handler serves a broker created by the CJS copy (an adapter and an app resolved differently)", async () => {
    const broker = new cjs.EventBroker();
    cleanups.push(() => broker.close());
    const server: TestServer = await listen((req, res) => {
      cjs.withBroker(req, broker);
      void esmAdapter.serveEvents(req, res, esm.brokerFrom(req), "news", { keepaliveMs: 0 });
    });
    cleanups.push(() => server.close());
    const client = rawClient(server.port);
    cleanups.push(() => client.close());
    await client.ready;
    await waitFor(() => broker.stats().clients === 1, "the subscription");
    broker.publish("news", { data: "across copies" });
    await waitFor(() => client.events.length === 1, "the event");
    expect(client.events[0]).toMatchObject({ event: "news", data: "across copies" });
    client.close();
    await waitFor(() => broker.stats().clients === 0, "the unsubscribe");
  });

  it("handlers of both copies count the same slots of one broker (maxClientsPerAddress)", async () => {
    const broker = new esm.EventBroker();
    cleanups.push(() => broker.close());
    const options = { keepaliveMs: 0, maxClientsPerAddress: 1 };
    const fromEsm = esm.handler(broker, "news", options);
    const fromCjs = cjs.handler(broker, "news", options);
    const server: TestServer = await listen((req, res) =>
      req.url === "/cjs" ? fromCjs(req, res) : fromEsm(req, res),
    );
    cleanups.push(() => server.close());
    const first = rawClient(server.port, "/esm");
    cleanups.push(() => first.close());
    await first.ready;
    expect(first.head).toMatch(/^HTTP\/1.1 200/);
    // The CJS copy's handler sees the slot the ESM copy's handler holds.
    expect((await fetch(`${server.url}/cjs`)).status).toBe(429);
    first.close();
    await waitFor(() => broker.stats().clients === 0, "the slot to be released");
    const again = rawClient(server.port, "/cjs");
    cleanups.push(() => again.close());
    await again.ready;
    expect(again.head).toMatch(/^HTTP\/1.1 200/);
    expect((await fetch(`${server.url}/esm`)).status).toBe(429);
  });
});
