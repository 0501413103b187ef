import type { IncomingMessage, ServerResponse } from "node:http";
import type { EventBroker } from "./broker.js";

/** A broker, or a function that returns one per request (e.g. one created later at boot). */
export type BrokerSource = EventBroker | (() => EventBroker | undefined);

// Shared through globalThis so that an ESM and a CJS copy of this package,
// loaded in one process, see the same request-to-broker map.
const KEY = Symbol.for("burrow.sse.requestBrokers");
const registry = globalThis as unknown as Record<symbol, WeakMap<object, EventBroker> | undefined>;
const brokers: WeakMap<object, EventBroker> = registry[KEY] ?? new WeakMap();
registry[KEY] = brokers;

/**
 * Puts `broker` on `req` (a `node:http` `IncomingMessage`, which express's
 * `req` and koa's `ctx.req` are), for {@link brokerFrom} and the context
 * handlers. Held weakly: nothing leaks when the request is gone.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   withBroker(req, broker);
 *   brokerFrom(req)?.publish("visits", { data: req.url ?? "" });
 * });
 * ```
 */
export function withBroker(req: object, broker: EventBroker): void {
  brokers.set(req, broker);
}

/** The broker put on `req` by {@link withBroker} (or an adapter's middleware), if any. */
export function brokerFrom(req: object): EventBroker | undefined {
  return brokers.get(req);
}

/** Resolves a {@link BrokerSource} for one request. */
export function resolveBroker(source: BrokerSource): EventBroker | undefined {
  return typeof source === "function" ? source() : source;
}

/**
 * A connect-style middleware, `(req, res, next)`: what express mounts
 * directly, koa mounts through `@burrow/sse-koa`'s `fromNodeMiddleware`, and
 * the registry's apps provide.
 */
export type NodeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * A middleware that puts the broker from `source` on every request (see
 * {@link withBroker}). With a function source, the broker is resolved per
 * request, so a broker created later (at boot) is picked up; a request that
 * finds none passes through without one.
 *
 * @example
 * ```ts
 * app.use(brokerMiddleware(broker)); // express, or any connect-style server
 * ```
 */
export function brokerMiddleware(source: BrokerSource): NodeMiddleware {
  return (req, _res, next) => {
    const broker = resolveBroker(source);
    if (broker !== undefined) withBroker(req, broker);
    next();
  };
}
