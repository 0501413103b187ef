/**
 * The checks the error-contract tests of every adapter share, on a fixture
 * app of `fixture-process.ts`'s kind whose SSE routes throw what
 * `?throw=<name>` names (see `fixtures/thrown-values.mjs`): `/topics`,
 * `/context-topics`, `/authorize`, `/presence`, `/stream-authorize`, and
 * `/no-broker` (a context handler without a broker). `/seen` lists (and
 * forgets) what the app's error handling and `onError` saw.
 */
import { expect, it } from "vitest";
import { answer, type FixtureProcess } from "./fixture-process.js";
import { hostileNames, type SeenError } from "./fixtures/thrown-values.mjs";

/**
 * What a fixture records of the `plain` bug its callbacks throw by default
 * (see `describeSeen` in thrown-values.mjs), but for `where` it was seen.
 */
export const plainBug = {
  same: true,
  name: "TypeError",
  message: "boom: a bug in a callback",
} as const;

/** The routes whose callback throws before the stream starts, by what throws. */
export const throwingRoutes = [
  ["a topic function (handlerFunc)", "/topics"],
  ["a topic function (contextHandlerFunc)", "/context-topics"],
  ["authorize", "/authorize"],
  ["presence", "/presence"],
  ["streamHandler's authorize", "/stream-authorize"],
] as const;

/**
 * Issue 23 item 1, a missing broker: `/no-broker` is answered `answered`
 * (status and body) by the app's error handling, which saw (as `where`) an
 * SSEMissingBrokerError whose message holds each of `names` (the fix).
 */
export function itHandsOnMissingBroker(
  server: () => Promise<FixtureProcess>,
  expected: { answered: [number, string]; where: string; names: readonly string[] },
): void {
  it(`a context handler without a broker: SSEMissingBrokerError to the app, naming ${expected.names.join(" and ")}`, async () => {
    const app = await server();
    const got = await answer(`${app.url}/no-broker`);
    expect([got.status, got.body]).toEqual(expected.answered);
    const seen = await app.json<SeenError[]>("/seen");
    expect(seen).toEqual([
      expect.objectContaining({ where: expected.where, name: "SSEMissingBrokerError" }),
    ]);
    for (const name of expected.names) expect(seen[0]!.message).toContain(name);
    expect(await app.crash()).toBe("");
  });
}

/**
 * Unchanged by issue 23: a callback that throws a 4xx (`?throw=forbidden`,
 * status 403, message `not yours`) is answered that by the library, and the
 * app's error handling hears nothing.
 */
export function itAnswersRefusals(server: () => Promise<FixtureProcess>): void {
  it("a thrown 4xx is still answered by the library; the app's error handling is not told", async () => {
    const app = await server();
    for (const path of ["/topics", "/authorize", "/stream-authorize"]) {
      const got = await answer(`${app.url}${path}?throw=forbidden`);
      expect([path, got.status, got.body]).toEqual([path, 403, "not yours"]);
    }
    expect(await app.json("/seen")).toEqual([]);
    expect(await app.crash()).toBe("");
  });
}

/**
 * Unchanged by issue 23: with `options.onError` (a fixture started with
 * `ON_ERROR=1`), the library answers a bug `500 sse: internal error` itself
 * and calls onError; the app's error handling hears nothing.
 */
export function itKeepsOnError(server: () => Promise<FixtureProcess>): void {
  it("options.onError: the library answers 500 itself and calls onError; the app is not told", async () => {
    const app = await server();
    const paths = ["/topics", "/authorize", "/stream-authorize"];
    for (const path of paths) {
      const got = await answer(`${app.url}${path}`);
      expect([path, got.status, got.body]).toEqual([path, 500, "sse: internal error"]);
    }
    expect(await app.json("/seen")).toEqual(paths.map(() => ({ ...plainBug, where: "onError" })));
    expect(await app.crash()).toBe("");
  });
}

/**
 * Issue 23 item 3 on a fixture: for each of `paths` and each hostile value
 * thrown there, the client gets a 500 within a bounded time and the process
 * lives; it still streams after them all.
 */
export function itAnswersWhateverIsThrown(
  server: () => Promise<FixtureProcess>,
  paths: readonly string[],
): void {
  for (const path of paths) {
    it.each(hostileNames)(`${path} throwing %s: a 500, and the process lives`, async (name) => {
      const app = await server();
      const got = await answer(`${app.url}${path}?throw=${encodeURIComponent(name)}`);
      expect([got.status, got.body]).toEqual([500, expect.any(String)]);
      expect(await app.crash()).toBe("");
    });
  }
  it("still streams after them", async () => {
    expect(await (await server()).streamedEvents()).toEqual(["hello"]);
  });
}
