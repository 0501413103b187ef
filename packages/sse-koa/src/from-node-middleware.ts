import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeMiddleware } from "@burrow/sse-core";
import type { Middleware } from "koa";

/**
 * Mounts a connect-style `(req, res, next)` middleware in koa, e.g. each of
 * a registry's `middleware()`. It runs on `ctx.req` and `ctx.res`; `next()`
 * continues down koa's chain, `next(err)` (or a throw) rejects into koa's
 * error handling, and a middleware that answers the request itself ends the
 * chain (koa then sends nothing).
 *
 * @example
 * ```ts
 * for (const mw of registry.middleware()) app.use(fromNodeMiddleware(mw));
 * ```
 */
export function fromNodeMiddleware(mw: NodeMiddleware): Middleware {
  return async (ctx, next) => {
    if (await run(mw, ctx.req, ctx.res)) return next();
    ctx.respond = false;
  };
}

/** Resolves true when `mw` calls `next()`, false when the response ends without it. */
function run(mw: NodeMiddleware, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const answered = (): void => settle(() => resolve(false));
    const settle = (done: () => void): void => {
      res.removeListener("finish", answered);
      res.removeListener("close", answered);
      done();
    };
    res.once("finish", answered);
    res.once("close", answered);
    try {
      mw(req, res, (err) => settle(() => (err ? reject(err) : resolve(true))));
    } catch (err) {
      settle(() => reject(err));
    }
  });
}
