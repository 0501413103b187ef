import { type FrameworkHandlers, frameworkHandlers } from "@burrow/sse-core/adapter";
import type { FastifyReply, FastifyRequest } from "fastify";

/** What a missing broker's message tells a fastify app to do. @internal */
export const NO_BROKER_FIX =
  "register the plugin, await fastify.register(ssePlugin, { broker }) from @burrow/sse-fastify, before this route";

type ErrorHook = (error: unknown, request: FastifyRequest) => void;

/**
 * A route handler as core builds it; each handler in handlers.ts returns it
 * as fastify's `RouteHandlerMethod`. (Typing the handler set, whose methods
 * are generic over a broker's topics, with `RouteHandlerMethod` itself made
 * tsc refuse `app.get(path, route)` on an app whose logger type is another
 * one, in src/adapter.test.ts: tsc's verdict on two `FastifyInstance` types
 * depends on the order in which it first relates them.)
 */
type FastifyRoute = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Where a bug goes once the stream has started (a producer that failed
 * mid-stream), when fastify can no longer answer it: fastify's logger, as
 * fastify itself reports errors of a reply it no longer owns
 * (`reply.hijack()`); a fastify created without a logger gets one
 * `console.error` line instead, never silence.
 */
function fastifyReport(what: string): ErrorHook {
  return (error, request) => {
    // A fastify without a logger has one whose methods do nothing, and no level.
    if (typeof request.log.level === "string" && request.log.level !== "silent") {
      request.log.error({ err: error }, `sse: ${what}`);
    } else {
      console.error(`sse: ${what} (${request.method} ${request.url}):`, error);
    }
  };
}

const REPORT = {
  events: fastifyReport("could not serve an event stream"),
  stream: fastifyReport("a stream producer failed"),
};

/**
 * Fastify's handler set, built by core. A bug before the stream starts
 * rejects the route handler's promise with nothing answered, so fastify's
 * error handler (the app's `setErrorHandler`, or fastify's own, which logs
 * it) answers; core takes the reply over (`reply.hijack()`) only when it
 * writes. @internal
 */
export const fastifyHandlers: FrameworkHandlers<FastifyRequest, FastifyRoute> = frameworkHandlers<
  [FastifyRequest, FastifyReply],
  FastifyRequest,
  Promise<void>
>({
  read: (request, reply) => ({ req: request.raw, res: reply.raw, subject: request }),
  hooks: (kind, _request, reply) => ({
    propagate: true,
    noBrokerFix: NO_BROKER_FIX,
    takeOver: () => reply.hijack(),
    report: REPORT[kind],
  }),
  settle: (served) => served,
});
