import { type FrameworkHandlers, frameworkHandlers } from "@burrow/sse-core/adapter";
import type { Context, Middleware, Next } from "koa";
import { takeResponse } from "./take-response.js";

/** What a missing broker's message tells a koa app to do. @internal */
export const NO_BROKER_FIX =
  "put app.use(middleware(broker)) from @burrow/sse-koa before this route";

/**
 * Koa's error handling, for a bug once the stream has started (or the
 * answer is sent): `ctx.onerror` emits `error` on the app (so
 * `app.on("error")` and koa's default logger see it) and, the response
 * being answered, sends nothing.
 */
function reportToKoa(error: unknown, ctx: Context): void {
  ctx.onerror(error as Error);
}

/**
 * Koa's handler set, built by core. A bug before the stream starts rejects
 * the middleware's promise with nothing answered, so it travels koa's
 * middleware chain (an app's `try { await next() } catch`) to `ctx.onerror`,
 * which answers it; koa is told not to answer (`ctx.respond = false`) only
 * when core writes. @internal
 */
export const koaHandlers: FrameworkHandlers<Context, Middleware> = frameworkHandlers<
  [Context, Next],
  Context,
  Promise<void>
>({
  read: (ctx) => ({ req: ctx.req, res: ctx.res, subject: ctx }),
  hooks: (_kind, ctx) => ({
    propagate: true,
    noBrokerFix: NO_BROKER_FIX,
    takeOver: () => takeResponse(ctx),
    report: reportToKoa,
  }),
  settle: (served) => served,
});
