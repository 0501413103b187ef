import {
  type BrokerSource,
  brokerMiddleware,
  brokerFrom as brokerOnRequest,
  type EventBroker,
} from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { fromNodeMiddleware } from "./from-node-middleware.js";

/**
 * Koa middleware that puts a broker on every request (on `ctx.req`), for
 * {@link brokerFrom} and the context handlers, then awaits `next()`.
 * `source` is a broker, or a function resolved per request (so a broker
 * created later, at boot, is picked up); a request that finds none passes
 * through without one.
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
 * The broker that {@link middleware} put on this request, or `undefined`
 * without it.
 *
 * @example
 * ```ts
 * router.post("/notes", (ctx) => {
 *   brokerFrom(ctx)?.publish("notifications", { data: "<li>saved</li>" });
 *   ctx.status = 204;
 * });
 * ```
 */
export function brokerFrom(ctx: Context): EventBroker | undefined {
  return brokerOnRequest(ctx.req);
}
