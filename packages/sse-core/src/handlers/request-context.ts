import type { IncomingMessage, ServerResponse } from "node:http";
import { SSEMissingBrokerError, SSEOptionError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";

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
 * `req` and koa's `ctx.req` are), for {@link requireBroker},
 * {@link brokerFrom} and the context handlers. Held weakly: nothing leaks
 * when the request is gone.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   withBroker(req, broker);
 *   requireBroker(req).publish("visits", { data: req.url ?? "" });
 *   res.end();
 * });
 * ```
 */
export function withBroker(req: object, broker: EventBroker): void {
  brokers.set(req, broker);
}

/**
 * The broker put on `req` by {@link withBroker} (or an adapter's middleware),
 * or `undefined`: for code that runs with and without one. Where a broker
 * must be there (a route that publishes), use {@link requireBroker}, which
 * names the fix when the middleware is missing instead of doing nothing.
 */
export function brokerFrom(req: object): EventBroker | undefined {
  return brokers.get(req);
}

/**
 * The broker put on `req` by {@link withBroker} (or an adapter's
 * middleware). Throws {@link SSEMissingBrokerError} (`sse: no broker on this
 * request: put middleware(broker) before this route`) when there is none, so
 * a missing or late middleware fails loudly where `brokerFrom(req)?.publish`
 * would quietly publish nothing. An adapter passes `fix`, the fix in its
 * framework's words.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   withBroker(req, broker);
 *   requireBroker(req).publish("visits", { data: req.url ?? "" });
 *   res.end();
 * });
 * ```
 */
export function requireBroker(req: object, fix?: string): EventBroker {
  const broker = brokers.get(req);
  if (broker === undefined) throw new SSEMissingBrokerError(fix);
  return broker;
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
 * finds none passes through without one. Throws an {@link SSEOptionError}
 * at once for a source that is neither.
 *
 * @example
 * ```ts
 * app.use(brokerMiddleware(broker)); // express, or any connect-style server
 * ```
 */
export function brokerMiddleware(source: BrokerSource): NodeMiddleware {
  checkSource(source);
  return (req, _res, next) => {
    const broker = resolveBroker(source);
    if (broker !== undefined) withBroker(req, broker);
    next();
  };
}

/**
 * True for an {@link EventBroker} from any loaded copy of this package (so
 * not `instanceof`). @internal
 */
export function isBroker(value: unknown): value is EventBroker {
  const broker = value as Partial<EventBroker> | null | undefined;
  return (
    typeof broker === "object" &&
    broker !== null &&
    typeof broker.subscribe === "function" &&
    typeof broker.unsubscribe === "function" &&
    typeof broker.publish === "function"
  );
}

/** Throws unless `source` is a broker or a function (resolved per request). */
function checkSource(source: unknown): void {
  if (typeof source !== "function" && !isBroker(source)) {
    throw new SSEOptionError(
      "source",
      "must be an EventBroker or a function returning one, e.g. middleware(broker)",
      source,
    );
  }
}
