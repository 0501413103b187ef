import {
  itAnswersRefusals,
  itAnswersWhateverIsThrown,
  itHandsOnMissingBroker,
  itKeepsOnError,
  plainBug,
  throwingRoutes,
} from "@burrow/test-utils/error-contract-suite";
import {
  answer,
  type FixtureProcess,
  killServers,
  sharedFixture,
} from "@burrow/test-utils/fixture-process";
import type { SeenError } from "@burrow/test-utils/thrown-values";
import { afterAll, describe, expect, it } from "vitest";

// The koa error contract, against the built package in a server process of
// its own (fixtures/error-contract-server.mjs): a bug before the stream
// starts propagates through koa's middleware chain, to an upstream
// try/catch, else to koa's own ctx.onerror and `app.on("error")`.
// On koa 3 and on koa 2 (installed as "koa2": the peer range takes both).

const fixture = new URL("./fixtures/error-contract-server.mjs", import.meta.url);
afterAll(killServers);

for (const [version, KOA] of [
  ["koa 3", "koa"],
  ["koa 2", "koa2"],
] as const) {
  /** A server with `env`, shared by a describe's tests. */
  function server(env: Record<string, string>): () => Promise<FixtureProcess> {
    return sharedFixture(fixture, { ...env, KOA }, ["/seen"]);
  }

  // Issue 23 item 1 on koa: the library answered 500 itself and told only
  // ctx.onerror, so the app's error-handling middleware never saw the bug.
  describe(`${version}: a bug before the stream starts propagates through the middleware chain (issue 23 item 1)`, () => {
    const upstream = server({ UPSTREAM: "1", LISTENER: "1" });
    const koaAlone = server({ LISTENER: "1" });
    const withOnError = server({ UPSTREAM: "1", LISTENER: "1", ON_ERROR: "1" });

    it.each(throwingRoutes)(
      "%s that throws: an upstream try/catch catches the very error and answers 500 'custom'",
      async (_name, path) => {
        const app = await upstream();
        const got = await answer(`${app.url}${path}`);
        expect([got.status, got.body]).toEqual([500, "custom"]);
        expect(await app.json<SeenError[]>("/seen")).toEqual([{ ...plainBug, where: "upstream" }]);
        expect(await app.crash()).toBe("");
        expect(await app.streamedEvents()).toEqual(["hello"]);
      },
    );

    it.each(throwingRoutes)(
      "%s that throws, no upstream catch: koa's ctx.onerror answers 500, app.on('error') sees it once",
      async (_name, path) => {
        const app = await koaAlone();
        const got = await answer(`${app.url}${path}`);
        expect([got.status, got.body]).toEqual([500, "Internal Server Error"]);
        expect(await app.json<SeenError[]>("/seen")).toEqual([{ ...plainBug, where: "app" }]);
        expect(await app.crash()).toBe("");
        expect(await app.streamedEvents()).toEqual(["hello"]);
      },
    );

    itHandsOnMissingBroker(upstream, {
      answered: [500, "custom"],
      where: "upstream",
      names: ["middleware(broker)", "@burrow/sse-koa"],
    });
    itAnswersRefusals(koaAlone);
    itKeepsOnError(withOnError);
  });

  // Issue 23 item 3 on koa: what koa is handed must be an error it can read
  // (koa formats a non-error with %j, and ignores null and undefined).
  describe(`${version}: whatever a callback throws, the client gets a 500 and the process lives (issue 23 item 3)`, () => {
    itAnswersWhateverIsThrown(server({}), ["/topics", "/stream-authorize"]);
  });
}
