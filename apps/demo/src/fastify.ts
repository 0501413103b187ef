import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import {
  contextHandlerFunc,
  type HandlerOptions,
  requireBroker,
  ssePlugin,
  streamHandler,
} from "@burrow/sse-fastify";
import { brokerFromRegistry, type Registry } from "@burrow/sse-registry";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteHandlerMethod,
} from "fastify";
import type { Demo } from "./shared/demo.js";
import { malformedUrl, type Reply, text } from "./shared/http.js";
import { mountRoutes } from "./shared/routes.js";

/** Copies a framework-free {@link Reply} onto fastify's reply. */
function send(reply: FastifyReply, answer: Reply): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/**
 * The demo's routes on fastify: the same actions as express and koa, as
 * fastify routes. `ssePlugin` from `@burrow/sse-fastify` puts the registry's
 * broker on every request, the SSE endpoints come from the same package.
 *
 * `createServer` receives fastify's request listener and returns the
 * `node:http` server that will serve it (fastify's `serverFactory`): the
 * server stays the caller's (it listens and closes it), and `fastify.close()`
 * answers new requests 503, then runs the `preClose` hook that shuts the
 * registry down (every stream ends). The instance is ready when this resolves.
 */
export async function fastifyApp(
  demo: Demo,
  registry: Registry,
  sse: HandlerOptions<FastifyRequest> = {},
  createServer: (handler: RequestListener) => Server = (handler) => createHttpServer(handler),
): Promise<FastifyInstance> {
  const app = Fastify({
    serverFactory: (handler) => createServer(handler),
    // What fastify's router refuses before any hook runs, answered as on express and koa:
    // a path that does not percent-decode is a 400, a route parameter longer than
    // maxParamLength (a project id of 101 characters) names no page: 404.
    frameworkErrors: (_error, request, reply) =>
      send(reply, malformedUrl(request.raw.url) ?? demo.notFound(request.raw)),
  });

  // Every form is read by the shared actions from the raw request (`readForm`, 16 KiB at
  // most), as on express and koa: fastify parses no body, it leaves each one unread.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));

  // Scenario 1: no broker wired by hand; the plugin puts the registry's broker on every
  // request (requireBroker(request)). The registry owns the broker: its shutdown closes it.
  await app.register(ssePlugin, { broker: () => brokerFromRegistry(registry), closeBroker: false });
  // fastify.close(): new requests are answered 503, then the registry shuts down (the
  // broker closes, every stream ends, jobs stop). The server is closed by its owner.
  app.addHook("preClose", () => registry.shutdown());

  // Every route, from the shared table: the streams through @burrow/sse-fastify.
  mountRoutes<FastifyRequest, RouteHandlerMethod>(
    demo,
    {
      raw: (request) => request.raw,
      param: (request, name) => String((request.params as Record<string, unknown>)[name]),
      // requireBroker: without the plugin, a form is answered 500 naming the fix, never ignored.
      broker: (request) => requireBroker(request),
      route: (method, url, handler) => app.route({ method, url, handler }),
      stream: contextHandlerFunc,
      requestStream: streamHandler,
      page: (answer) => async (request, reply) => send(reply, await answer(request)),
    },
    sse,
  );

  app.setNotFoundHandler((request, reply) => send(reply, demo.notFound(request.raw)));
  // A thrown HttpError's status, else 500; fastify's own refusals (a bad Content-Length,
  // say) keep their 4xx status.
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return send(reply, text((error as Error).message, status));
    }
    return send(reply, demo.errorReply(error));
  });

  await app.ready();
  return app;
}
