import { EventBroker } from "@burrow/sse-core";
import { cleanupAfterEach, listen, waitFor } from "@burrow/test-utils";
import express, { type NextFunction, type Request, type Response } from "express";
import express4 from "express4";
import { describe, expect, it } from "vitest";
import { handlerFunc } from "./index.js";

// Issue 15, item 1, the express ways of handling errors: a bug's 500 is sent
// by core before `next(err)`, so whatever the app's error handling does next,
// the client gets that 500, once, and the server keeps serving.

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

    it("without error middleware: express's default handler adds nothing to the 500", async () => {
      const app = createApp();
      app.set("env", "test");
      app.get("/events", handlerFunc(broker(), bug));
      app.get("/ok", (_req: Request, res: Response) => res.send("still serving"));
      const url = await serve(app as never);
      const response = await fetch(`${url}/events`);
      expect([response.status, await response.text()]).toEqual([500, "sse: internal error"]);
      expect(await (await fetch(`${url}/ok`)).text()).toBe("still serving");
    });

    it("error middleware that answers without checking headersSent: the client still gets core's 500", async () => {
      const seen: unknown[] = [];
      const app = createApp();
      app.set("env", "test");
      app.get("/events", handlerFunc(broker(), bug));
      app.get("/ok", (_req: Request, res: Response) => res.send("still serving"));
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seen.push(err);
        res.status(500).send("an error page"); // too late: core's 500 is sent
      });
      const url = await serve(app as never);
      const response = await fetch(`${url}/events`);
      expect([response.status, await response.text()]).toEqual([500, "sse: internal error"]);
      await waitFor(() => seen.length === 1, "the error middleware");
      expect(seen[0]).toBeInstanceOf(TypeError);
      expect(await (await fetch(`${url}/ok`)).text()).toBe("still serving");
    });
  });
}
