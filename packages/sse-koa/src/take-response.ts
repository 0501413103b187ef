import type { Context } from "koa";

/** Socket errors that only mean the client went away (reset, or closed while we wrote). */
const CLIENT_GONE = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * Takes `ctx.res` over for a stream: koa sends nothing of its own
 * (`ctx.respond = false`), and a client that leaves by resetting its
 * connection is not reported as an app error. Koa watches every response
 * with `on-finished` and hands a socket error to `ctx.onerror`, whose default
 * logs its stack: one stack trace per client that resets an event stream (a
 * stuck client closing with unread data, a proxy or a phone dropping it).
 * Core already ends the stream on that error; here `ctx.onerror` of this
 * request ignores such errors once the stream's head is sent, and passes
 * everything else (`onError`'s default reports real errors through it) on.
 * @internal
 */
export function takeResponse(ctx: Context): void {
  ctx.respond = false;
  const onerror = ctx.onerror;
  ctx.onerror = function (this: Context, error: Error) {
    const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
    if (code !== undefined && CLIENT_GONE.has(code) && ctx.res.headersSent) return;
    return onerror.call(this, error);
  };
}
