import {
  type BrokerSource,
  brokerMiddleware,
  brokerFrom as brokerOnRequest,
  type EventBroker,
  requireBroker as requireBrokerOnRequest,
} from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";
import { NO_BROKER_FIX } from "./binding.js";

/**
 * Express middleware that puts a broker on every request, for
 * {@link brokerFrom} and the context handlers. `source` is a broker, or a
 * function resolved per request (so a broker created later, at boot, is
 * picked up); a request that finds none passes through without one. Throws
 * `SSEOptionError` at once for a source that is neither.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * app.use(middleware(broker));
 * app.get("/events", contextHandler("notifications"));
 * ```
 */
export function middleware(source: BrokerSource): RequestHandler {
  // An express request is a node:http request: core's middleware fits as is.
  return brokerMiddleware(source);
}

/**
 * The broker that {@link middleware} put on `req`. Throws
 * `SSEMissingBrokerError` (`sse: no broker on this request: put
 * app.use(middleware(broker)) from @burrow/sse-express before this route`) without it, so a missing or late
 * middleware fails loudly: in a route, express passes the error to your
 * error middleware.
 *
 * @example
 * ```ts
 * app.post("/notes", (req, res) => {
 *   requireBroker(req).publish("notifications", { data: "<li>saved</li>" });
 *   res.sendStatus(204);
 * });
 * ```
 */
export function requireBroker(req: Request): EventBroker {
  return requireBrokerOnRequest(req, NO_BROKER_FIX);
}

/**
 * The broker that {@link middleware} put on `req`, or `undefined` without
 * it: for code that runs with and without one. A route that must publish
 * uses {@link requireBroker}.
 *
 * @example
 * ```ts
 * app.use((req, res, next) => {
 *   brokerFrom(req)?.publish("visits", { data: req.path }); // skipped without SSE
 *   next();
 * });
 * ```
 */
export function brokerFrom(req: Request): EventBroker | undefined {
  return brokerOnRequest(req);
}
