import {
  type BrokerSource,
  brokerFrom as brokerOnRequest,
  type EventBroker,
  requireBroker as requireBrokerOnRequest,
  SSEOptionError,
  withBroker,
} from "@burrow/sse-core";
import { resolveBroker } from "@burrow/sse-core/adapter";
import type { FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from "fastify";
import fp from "fastify-plugin";
import { NO_BROKER_FIX } from "./binding.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The broker {@link ssePlugin} put on this request (`undefined` if its source had none). */
    readonly broker: EventBroker | undefined;
  }
}

/** Options of {@link ssePlugin}. */
export interface SSEPluginOptions {
  /**
   * The broker every request carries: a broker, or a function resolved per
   * request (for a broker created later, at boot).
   */
  broker: BrokerSource;
  /**
   * Close the broker when fastify closes (a `preClose` hook): every stream
   * ends gracefully (what is queued, then a spread `retry:`), so
   * `fastify.close()` completes at once instead of waiting for streams that
   * never end. Set false when the broker outlives this fastify instance, and
   * close it yourself before `fastify.close()`.
   * @default true
   */
  closeBroker?: boolean;
}

function checkSource(source: unknown, name: string): BrokerSource {
  const isBroker =
    typeof source === "object" &&
    source !== null &&
    typeof (source as EventBroker).subscribe === "function" &&
    typeof (source as EventBroker).publish === "function";
  if (!isBroker && typeof source !== "function") {
    throw new SSEOptionError(
      name,
      name === "broker"
        ? "must be an EventBroker or a function returning one, e.g. { broker: new EventBroker() }"
        : "must be an EventBroker or a function returning one",
      source,
    );
  }
  return source as BrokerSource;
}

/**
 * A fastify `onRequest` hook that puts the broker on every request (on
 * `request.raw`), for {@link brokerFrom} and the context handlers. The
 * plugin registers it for you; use it alone to scope it to some routes.
 *
 * @example
 * ```ts
 * fastify.addHook("onRequest", middleware(broker));
 * ```
 */
export function middleware(source: BrokerSource): onRequestHookHandler {
  const checked = checkSource(source, "source");
  return (request, _reply, done) => {
    const broker = resolveBroker(checked);
    if (broker !== undefined) withBroker(request.raw, broker);
    done();
  };
}

/**
 * The broker that {@link ssePlugin} (or {@link middleware}) put on this
 * request, or `undefined` without it. Same as `request.broker`.
 */
export function brokerFrom(request: FastifyRequest): EventBroker | undefined {
  return brokerOnRequest(request.raw);
}

/**
 * The broker on this request; throws `SSEMissingBrokerError` (answered 500
 * through fastify's error handler) naming the fix when there is none: a route
 * that must publish uses it, so a missing `ssePlugin` is never silent.
 *
 * @example
 * ```ts
 * fastify.post("/notes", async (request, reply) => {
 *   requireBroker(request).publish("notifications", { data: "<li>saved</li>" });
 *   return reply.code(204).send();
 * });
 * ```
 */
export function requireBroker(request: FastifyRequest): EventBroker {
  return requireBrokerOnRequest(request.raw, NO_BROKER_FIX);
}

const plugin: FastifyPluginAsync<SSEPluginOptions> = async (fastify, options) => {
  const source = checkSource(options?.broker, "broker");
  fastify.decorateRequest("broker", {
    getter(this: FastifyRequest) {
      return brokerOnRequest(this.raw);
    },
  });
  fastify.addHook("onRequest", middleware(source));
  if (options.closeBroker !== false) {
    fastify.addHook("preClose", async () => {
      resolveBroker(source)?.close();
    });
  }
};

/**
 * The fastify plugin (wrapped with `fastify-plugin`, so it is not
 * encapsulated away): puts the broker on every request (`request.broker`,
 * the Go original's "broker on every request") and, by default, closes it
 * when fastify closes, so `fastify.close()` ends every stream promptly.
 *
 * @example
 * ```ts
 * const broker = new EventBroker();
 * await fastify.register(ssePlugin, { broker });
 * fastify.get("/events", contextHandler("notifications"));
 * fastify.post("/notes", async (request, reply) => {
 *   request.broker?.publish("notifications", { data: "<li>saved</li>" });
 *   reply.code(204);
 * });
 * ```
 */
export const ssePlugin = fp(plugin, { fastify: "5.x", name: "@burrow/sse-fastify" });
