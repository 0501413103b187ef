import { EventBroker } from "@burrow/sse-core";
import { cleanupAfterEach, listen, waitFor } from "@burrow/test-utils";
import express, { type NextFunction, type Request, type Response } from "express";
import express4 from "express4";
import { describe, expect, it } from "vitest";
import { handlerFunc } from "./index.js";

// Issue 23, item 1, the express ways of handling errors: a bug before the
// stream starts goes to `next(err)` with nothing answered, so the app's error
// handling (or express's final handler) answers it, once, and the server
// keeps serving. (The crash this replaced is proved in its own process by
// error-contract.test.ts.)

const cleanups = cleanupAfterEach();

const bug = (): never => {
  throw new TypeError("Cannot read properties of undefined (reading 'toLowerCase')");
};

for (const [version, createApp] of [
  ["express 5", express],
  ["express 4", express4],
] as const) {
  describe(`${version}: a bug in a topic function`, () => {
    async function serve(app: ReturnType<typeof express>) {
      const server = await listen(app as never);
      cleanups.push(() => server.close());
      return server.url;
    }

    function broker(): EventBroker {
      const b = new EventBroker();
      cleanups.push(() => b.close());
      return b;
    }

    it("without error middleware: express's final handler answers the 500", async () => {
      const app = createApp();
      app.set("env", "production"); // the final handler shows no stack
      app.get("/events", handlerFunc(broker(), bug));
      app.get("/ok", (_req: Request, res: Response) => res.send("still serving"));
      const url = await serve(app as never);
      const response = await fetch(`${url}/events`);
      expect(response.status).toBe(500);
      expect(await response.text()).toContain("Internal Server Error");
      expect(await (await fetch(`${url}/ok`)).text()).toBe("still serving");
    });

    it("error middleware that answers without checking headersSent: the client gets the app's page", async () => {
      const seen: unknown[] = [];
      const app = createApp();
      app.set("env", "test");
      app.get("/events", handlerFunc(broker(), bug));
      app.get("/ok", (_req: Request, res: Response) => res.send("still serving"));
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seen.push(err);
        expect(res.headersSent).toBe(false);
        res.status(500).send("an error page");
      });
      const url = await serve(app as never);
      const response = await fetch(`${url}/events`);
      expect([response.status, await response.text()]).toEqual([500, "an error page"]);
      await waitFor(() => seen.length === 1, "the error middleware");
      expect(seen[0]).toBeInstanceOf(TypeError);
      expect(await (await fetch(`${url}/ok`)).text()).toBe("still serving");
    });
  });
}
