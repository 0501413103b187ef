import {
  type BrokerSource,
  brokerMiddleware,
  brokerFrom as brokerOnRequest,
  type EventBroker,
} from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";

/**
 * Express middleware that puts a broker on every request, for
 * {@link brokerFrom} and the context handlers. `source` is a broker, or a
 * function resolved per request (so a broker created later, at boot, is
 * picked up); a request that finds none passes through without one.
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
 * The broker that {@link middleware} put on `req`, or `undefined` without it.
 *
 * @example
 * ```ts
 * app.post("/notes", (req, res) => {
 *   brokerFrom(req)?.publish("notifications", { data: "<li>saved</li>" });
 *   res.sendStatus(204);
 * });
 * ```
 */
export function brokerFrom(req: Request): EventBroker | undefined {
  return brokerOnRequest(req);
}
