import type { NodeMiddleware } from "@burrow/sse-core";
import { listen, type TestServer } from "@burrow/test-utils";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { fromNodeMiddleware } from "./index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A koa app running `mw` before a handler that answers "reached". */
async function serve(mw: NodeMiddleware, errors: unknown[] = []): Promise<TestServer> {
  const app = new Koa();
  app.on("error", (err: unknown) => errors.push(err));
  app.use(fromNodeMiddleware(mw));
  app.use((ctx) => {
    ctx.body = `reached, tagged ${ctx.req.headers["x-tag"]}`;
  });
  server = await listen(app.callback());
  return server;
}

describe("fromNodeMiddleware", () => {
  it("runs a (req, res, next) middleware on ctx.req, then continues on next()", async () => {
    const { url } = await serve((req, _res, next) => {
      req.headers["x-tag"] = "by node middleware";
      next();
    });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("reached, tagged by node middleware");
  });

  it("continues after an asynchronous next()", async () => {
    const { url } = await serve((req, _res, next) => {
      setImmediate(() => {
        req.headers["x-tag"] = "later";
        next();
      });
    });
    expect(await (await fetch(url)).text()).toBe("reached, tagged later");
  });

  it("rejects next(err) into koa's error handling (500)", async () => {
    const errors: unknown[] = [];
    const failure = new Error("config missing");
    const { url } = await serve((_req, _res, next) => next(failure), errors);
    const response = await fetch(url);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("reached");
    expect(errors).toEqual([failure]);
  });

  it("keeps an HTTP-style error's status", async () => {
    const { url } = await serve((_req, _res, next) =>
      next(Object.assign(new Error("Unauthorized"), { status: 401, expose: true })),
    );
    const response = await fetch(url);
    expect(response.status).toBe(401);
    expect(await response.text()).toBe("Unauthorized");
  });

  it("ends the chain when the middleware answers the request itself", async () => {
    const errors: unknown[] = [];
    const { url } = await serve((_req, res) => {
      res.writeHead(418, { "Content-Type": "text/plain" }).end("short and stout");
    }, errors);
    const response = await fetch(url);
    expect(response.status).toBe(418);
    expect(await response.text()).toBe("short and stout");
    expect(errors).toEqual([]);
  });
});
