import {
  type BrokerSource,
  brokerMiddleware,
  brokerFrom as brokerOnRequest,
  type EventBroker,
  requireBroker as requireBrokerOnRequest,
} from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { NO_BROKER_FIX } from "./binding.js";
import { fromNodeMiddleware } from "./from-node-middleware.js";

/**
 * Koa middleware that puts a broker on every request (on `ctx.req`), for
 * {@link brokerFrom} and the context handlers, then awaits `next()`.
 * `source` is a broker, or a function resolved per request (so a broker
 * created later, at boot, is picked up); a request that finds none passes
 * through without one. Throws `SSEOptionError` at once for a source that is
 * neither.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * app.use(middleware(broker));
 * router.get("/events", contextHandler("notifications"));
 * ```
 */
export function middleware(source: BrokerSource): Middleware {
  return fromNodeMiddleware(brokerMiddleware(source));
}

/**
 * The broker that {@link middleware} put on this request. Throws
 * `SSEMissingBrokerError` (`sse: no broker on this request: put
 * app.use(middleware(broker)) from @burrow/sse-koa before this route`) without it, so a missing or late
 * middleware fails loudly, into koa's error handling.
 *
 * @example
 * ```ts
 * router.post("/notes", (ctx) => {
 *   requireBroker(ctx).publish("notifications", { data: "<li>saved</li>" });
 *   ctx.status = 204;
 * });
 * ```
 */
export function requireBroker(ctx: Context): EventBroker {
  return requireBrokerOnRequest(ctx.req, NO_BROKER_FIX);
}

/**
 * The broker that {@link middleware} put on this request, or `undefined`
 * without it: for code that runs with and without one. A route that must
 * publish uses {@link requireBroker}.
 *
 * @example
 * ```ts
 * app.use(async (ctx, next) => {
 *   brokerFrom(ctx)?.publish("visits", { data: ctx.path }); // skipped without SSE
 *   await next();
 * });
 * ```
 */
export function brokerFrom(ctx: Context): EventBroker | undefined {
  return brokerOnRequest(ctx.req);
}
