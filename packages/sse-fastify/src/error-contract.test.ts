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

// The fastify error contract, against the built package in a server process
// of its own (fixtures/error-contract-server.mjs): a bug before the stream
// starts reaches the app's setErrorHandler, else fastify's default error
// handler, which answers and logs it.

const fixture = new URL("./fixtures/error-contract-server.mjs", import.meta.url);
afterAll(killServers);

/** A server with `env`, shared by a describe's tests. */
function server(env: Record<string, string>): () => Promise<FixtureProcess> {
  return sharedFixture(fixture, env, ["/seen", "/logs"]);
}

interface LogLine {
  level: number;
  msg?: string;
  err?: { message?: string };
}

// Issue 23 item 1 on fastify: the library answered 500 itself and only
// logged the bug; the app's setErrorHandler was never called.
describe("fastify: a bug before the stream starts reaches setErrorHandler (issue 23 item 1)", () => {
  const withHandler = server({ ERROR_HANDLER: "1" });
  const defaults = server({});
  const withOnError = server({ ERROR_HANDLER: "1", ON_ERROR: "1" });

  it.each(throwingRoutes)(
    "%s that throws: the app's setErrorHandler gets the very error and answers 500 'custom'",
    async (_name, path) => {
      const app = await withHandler();
      const got = await answer(`${app.url}${path}`);
      expect([got.status, got.body]).toEqual([500, "custom"]);
      expect(await app.json<SeenError[]>("/seen")).toEqual([{ ...plainBug, where: "app" }]);
      expect(await app.crash()).toBe("");
      expect(await app.streamedEvents()).toEqual(["hello"]);
    },
  );

  it.each(throwingRoutes)(
    "%s that throws, no setErrorHandler: fastify's default answers 500 JSON and logs it once",
    async (_name, path) => {
      const app = await defaults();
      const got = await answer(`${app.url}${path}`);
      expect([got.status, got.contentType]).toEqual([
        500,
        expect.stringMatching(/^application\/json/),
      ]);
      expect(JSON.parse(got.body)).toMatchObject({ statusCode: 500 });
      const logged = (await app.json<LogLine[]>("/logs")).filter((line) => line.level >= 50);
      expect(logged.map((line) => line.err?.message)).toEqual([plainBug.message]);
      expect(await app.crash()).toBe("");
    },
  );

  itHandsOnMissingBroker(withHandler, {
    answered: [500, "custom"],
    where: "app",
    names: ["ssePlugin", "@burrow/sse-fastify"],
  });
  itAnswersRefusals(withHandler);
  itKeepsOnError(withOnError);
});

// Issue 23 item 3 on fastify: a streamHandler whose authorize threw such a
// value never answered (the request hung); fastify must be handed an error
// it can read.
describe("fastify: whatever a callback throws, the client gets a 500 and the process lives (issue 23 item 3)", () => {
  itAnswersWhateverIsThrown(server({}), ["/topics", "/stream-authorize"]);
});
