import { EventBroker } from "@burrow/sse-core";
import { APP_ERROR_PAGE, describeAdapter, listen } from "@burrow/test-utils";
import Fastify, {
  type FastifyRequest,
  type onRequestHookHandler,
  type RouteHandlerMethod,
} from "fastify";
import * as api from "./index.js";

describeAdapter("fastify 5", {
  noBrokerFix:
    "register the plugin, await fastify.register(ssePlugin, { broker }) from @burrow/sse-fastify, before this route",
  startedStreamErrors: "error handling",
  newBroker: () => new EventBroker(),
  api,
  param: (request: FastifyRequest, name) => (request.params as Record<string, string>)[name]!,
  header: (request: FastifyRequest, name) => {
    const value = request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  },
  hold: (held, arrived) => async () => {
    arrived();
    await held;
  },
  async serve({ use, get = {}, all = {}, post = {} }) {
    const errors: unknown[] = [];
    // Fastify answers 414 itself past `maxParamLength` (100): raised so that
    // core's own topic limits are what the suite meets.
    // After `reply.hijack()` fastify's logger is where a stream's errors go:
    // a logger that records them is this harness's "error handling" too.
    const logger = {
      level: "error",
      error: (entry: { err?: unknown }, message?: string) => {
        if (message?.startsWith("sse: ")) errors.push(entry.err);
      },
      fatal: () => {},
      warn: () => {},
      info: () => {},
      debug: () => {},
      trace: () => {},
      silent: () => {},
      child: () => logger,
    };
    const app = Fastify({ maxParamLength: 10_000, loggerInstance: logger as never });
    // Whatever reaches fastify's error handling: a stream must put nothing there.
    app.setErrorHandler((err, _request, reply) => {
      errors.push(err);
      void reply.code(500).send(APP_ERROR_PAGE);
    });
    if (use) app.addHook("onRequest", use as onRequestHookHandler);
    for (const [path, route] of Object.entries(get)) app.get(path, route as RouteHandlerMethod);
    for (const [path, route] of Object.entries(all)) app.all(path, route as RouteHandlerMethod);
    for (const [path, action] of Object.entries(post)) {
      app.post(path, async (request, reply) => {
        action(request);
        return reply.code(204).send();
      });
    }
    await app.ready();
    return { server: await listen(app.server), errors };
  },
});
