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

// The express error contract, against the built package in a server process
// of its own (fixtures/error-contract-server.mjs): only a process shows a
// crash. A bug before the stream starts goes to `next(err)` with nothing
// answered, so the app's error handler (the tutorials'
// `res.status(500).end(...)`) or express's final handler answers it.

const fixture = new URL("./fixtures/error-contract-server.mjs", import.meta.url);
afterAll(killServers);

const bug = { where: "app", ...plainBug };

/** A server of `express` with `env`, shared by a describe's tests. */
function server(express: string, env: Record<string, string> = {}): () => Promise<FixtureProcess> {
  return sharedFixture(fixture, { EXPRESS: express, ...env }, ["/seen"]);
}

for (const [version, express] of [
  ["express 5", "express"],
  ["express 4", "express4"],
] as const) {
  // Issue 23 item 1: the library answered 500 and then called next(err), so
  // the tutorials' handler wrote after the end and the process exited.
  describe(`${version}: a bug before the stream starts reaches the app's error handler, nothing answered (issue 23 item 1)`, () => {
    const tutorial = server(express, { ERRORS: "end" });

    it.each(throwingRoutes)(
      "%s that throws: the client gets the app's 500 'custom page', the process lives and still streams",
      async (_name, path) => {
        const app = await tutorial();
        const got = await answer(`${app.url}${path}`);
        expect([got.status, got.body]).toEqual([500, "custom page"]);
        expect(await app.json<SeenError[]>("/seen")).toEqual([{ ...bug, headersSent: false }]);
        expect(await app.crash()).toBe("");
        expect(await app.streamedEvents()).toEqual(["hello"]);
      },
    );

    itHandsOnMissingBroker(tutorial, {
      answered: [500, "custom page"],
      where: "app",
      names: ["middleware(broker)", "@burrow/sse-express"],
    });
    itAnswersRefusals(tutorial);
  });

  describe(`${version}: other error handling of a bug before the stream starts (issue 23 item 1)`, () => {
    const finalHandler = server(express, { ERRORS: "none" });
    const sending = server(express, { ERRORS: "send" });
    const withOnError = server(express, { ERRORS: "end", ON_ERROR: "1" });

    it.each(["/topics", "/no-broker"])(
      "no error handler: express's final handler answers %s 500",
      async (path) => {
        const app = await finalHandler();
        const got = await answer(`${app.url}${path}`);
        expect([got.status, got.contentType, got.body]).toEqual([
          500,
          expect.stringMatching(/^text\/html/),
          expect.stringContaining("Internal Server Error"),
        ]);
        expect(await app.crash()).toBe("");
        expect(await app.streamedEvents()).toEqual(["hello"]);
      },
    );

    it("an error handler that answers with res.status(500).send(): its page reaches the client, nothing is logged", async () => {
      const app = await sending();
      const got = await answer(`${app.url}/topics`);
      expect([got.status, got.body]).toEqual([500, "custom page"]);
      expect(await app.json<SeenError[]>("/seen")).toEqual([{ ...bug, headersSent: false }]);
      expect(await app.crash()).toBe("");
    });

    itKeepsOnError(withOnError);
  });

  // Issue 23 item 1, once the stream has started: nothing can be answered any
  // more, so next is not called (the tutorials' handler would write after the end).
  describe(`${version}: a streamHandler producer that throws after its first event (issue 23 item 1)`, () => {
    const tutorial = server(express, { ERRORS: "end" });
    const withOnError = server(express, { ERRORS: "end", ON_ERROR: "1" });

    it("ends the stream, logs the error, does not call next; the process lives", async () => {
      const app = await tutorial();
      const got = await answer(`${app.url}/stream-late`);
      expect([got.status, got.body]).toEqual([200, expect.stringContaining("data: first\n")]);
      expect(await app.crash()).toBe("");
      expect(await app.json("/seen")).toEqual([]);
      expect(app.stderr).toContain("boom: a bug in a callback");
      expect(await app.streamedEvents()).toEqual(["hello"]);
    });

    // A producer runs once the stream's head is sent (so that htmx 4 and
    // EventSource see a live stream at once): one that throws before its
    // first event is past what express could answer too.
    it("a producer that throws before its first event: an empty 200 stream, logged, next not called", async () => {
      const app = await tutorial();
      const got = await answer(`${app.url}/stream-early`);
      expect([got.status, got.body]).toEqual([200, ""]);
      expect(await app.crash()).toBe("");
      expect(await app.json("/seen")).toEqual([]);
      expect(app.stderr).toContain("boom: a bug in a callback");
      expect(await app.streamedEvents()).toEqual(["hello"]);
    });

    it("with options.onError: onError gets it, next does not", async () => {
      const app = await withOnError();
      const got = await answer(`${app.url}/stream-late`);
      expect([got.status, got.body]).toEqual([200, expect.stringContaining("data: first\n")]);
      expect(await app.crash()).toBe("");
      expect(await app.json("/seen")).toEqual([{ ...bug, where: "onError" }]);
    });
  });

  // Issue 23 item 3: the error path read `status` off whatever was thrown,
  // so a value that throws on being read made it throw in turn; and what
  // reaches next must be something express's final handler can read.
  describe(`${version}: whatever a callback throws, the client gets a 500 and the process lives (issue 23 item 3)`, () => {
    itAnswersWhateverIsThrown(server(express, { ERRORS: "none" }), [
      "/topics",
      "/stream-authorize",
    ]);
  });
}
