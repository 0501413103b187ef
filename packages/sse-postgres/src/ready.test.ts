// `backplane.ready({ timeoutMs })`: resolves when the link is ready (at once
// if it is), rejects with core's SSEBackplaneError of kind "timeout" or
// "closed" (and "configuration": see connection-errors.test.ts), and leaves
// no timer behind however it settles.
import { EventBroker, SSEBackplaneError, SSEOptionError } from "@burrow/sse-core";
import { rejectionOf } from "@burrow/test-utils";
import { freePort } from "@burrow/test-utils/backplane-server";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { DATABASE_URL, describePostgres, dropPrefix, uniquePrefix } from "./fixtures/harness.js";
import { DEFAULT_READY_TIMEOUT_MS, type PostgresBackplane, postgresBackplane } from "./index.js";
import { LinkReadiness, type ReadyLink } from "./readiness.js";

/** What `promise` rejects with, checked to be an `SSEBackplaneError`. */
async function rejection(promise: Promise<unknown>): Promise<SSEBackplaneError> {
  const error = await rejectionOf(promise);
  expect(SSEBackplaneError.isInstance(error)).toBe(true);
  return error as SSEBackplaneError;
}

describe("Readiness (fake timers)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A Readiness over a link the test moves. */
  function readiness() {
    const link: ReadyLink = { state: "connecting", refusal: undefined, lastError: undefined };
    return { link, ready: new LinkReadiness("postgres://db/app", () => link) };
  }

  it("resolves when the link becomes ready, and its timer is gone", async () => {
    vi.useFakeTimers();
    const { link, ready } = readiness();
    const waiting = ready.wait({ timeoutMs: 5000 });
    expect(vi.getTimerCount()).toBe(1);
    link.state = "ready";
    ready.check();
    await waiting;
    expect(vi.getTimerCount()).toBe(0);
    // Ready already: at once, no timer.
    await ready.wait();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with kind timeout after timeoutMs (default 10 s), the last error as cause, and keeps no timer", async () => {
    vi.useFakeTimers();
    const { link, ready } = readiness();
    link.state = "down";
    link.lastError = new Error("connect ECONNREFUSED 127.0.0.1:5432");
    const waiting = rejection(ready.wait());
    await vi.advanceTimersByTimeAsync(DEFAULT_READY_TIMEOUT_MS - 1);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const error = await waiting;
    expect(error).toMatchObject({
      kind: "timeout",
      message:
        'sse: postgresBackplane: PostgreSQL at postgres://db/app not ready within 10000 ms (state "down": connect ECONNREFUSED 127.0.0.1:5432)',
      cause: link.lastError,
    });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects every waiting call with kind closed, or configuration, at once, and keeps no timer", async () => {
    vi.useFakeTimers();
    const { link, ready } = readiness();
    const closed = [rejection(ready.wait()), rejection(ready.wait({ timeoutMs: 60_000 }))];
    link.state = "closed";
    ready.check();
    for (const error of await Promise.all(closed)) expect(error.kind).toBe("closed");
    expect(vi.getTimerCount()).toBe(0);

    const other = readiness();
    const refused = rejection(other.ready.wait());
    const cause = Object.assign(new Error('database "app" does not exist'), { code: "3D000" });
    other.link.state = "down";
    other.link.refusal = { error: cause, message: "configuration refused by PostgreSQL at …" };
    other.ready.check();
    expect(await refused).toMatchObject({ kind: "configuration", cause });
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    [{ timeoutMs: -1 }, "timeoutMs"],
    [{ timeoutMs: "5000" }, "timeoutMs"],
    [{ timeoutMs: 2 ** 31 }, "timeoutMs"],
    [{ timeout: 5000 }, "timeout"],
    [5000, "options"],
  ])("refuses %j with SSEOptionError naming %s", async (options, option) => {
    const { ready } = readiness();
    const error = await rejectionOf(ready.wait(options as never));
    expect(SSEOptionError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ option });
  });
});

const prefixes: string[] = [];
const brokers: EventBroker[] = [];

/** A broker on a silent backplane to `connectionString`, closed after the test. */
function attached(connectionString = DATABASE_URL): PostgresBackplane {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const backplane = postgresBackplane({ connectionString, prefix, logger: false });
  brokers.push(new EventBroker({ historySize: 10, backplane }));
  return backplane;
}

describePostgres("PostgresBackplane.ready() on the real PostgreSQL", () => {
  afterEach(() => {
    for (const broker of brokers.splice(0)) broker.close();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(prefix);
  });

  it("resolves once the link is ready, and at once when it is", async () => {
    const backplane = attached();
    await backplane.ready({ timeoutMs: 10_000 });
    expect(backplane.stats().state).toBe("ready");
    await backplane.ready({ timeoutMs: 0 });
  });

  it("rejects with kind timeout when nothing answers, the connection error as cause", async () => {
    const backplane = attached(`postgres://postgres@127.0.0.1:${await freePort()}/test`);
    const started = performance.now();
    const error = await rejection(backplane.ready({ timeoutMs: 400 }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/not ready within 400 ms \(state "down": .*ECONNREFUSED/);
    expect(error.cause).toMatchObject({ code: "ECONNREFUSED" });
  });

  it("rejects with kind closed when the broker closes first, or when it was closed already", async () => {
    const backplane = attached(`postgres://postgres@127.0.0.1:${await freePort()}/test`);
    const waiting = rejection(backplane.ready());
    brokers[0]!.close();
    expect((await waiting).kind).toBe("closed");
    expect((await rejection(backplane.ready())).kind).toBe("closed");
  });
});
