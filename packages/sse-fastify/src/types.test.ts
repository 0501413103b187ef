import { EventBroker, type RequestStream } from "@burrow/sse-core";
import type { FastifyRequest, onRequestHookHandler, RouteHandlerMethod } from "fastify";
import { describe, expectTypeOf, it } from "vitest";
import {
  brokerFrom,
  contextHandler,
  contextHandlerFunc,
  type HandlerOptions,
  handler,
  handlerFunc,
  middleware,
  requireBroker,
  type SSEPluginOptions,
  streamHandler,
} from "./index.js";

// Checked by `pnpm typecheck` (tsc over src): a wrong generic fails the build.
// At run time these assertions are no-ops; the `it`s only make the file a suite.

describe("fastify: handler options are typed with fastify's request", () => {
  const broker = new EventBroker();

  it("topicsFn, authorize, onError, presence and snapshot receive FastifyRequest", () => {
    const events = handlerFunc(
      broker,
      (request) => {
        expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
        return `room:${(request.params as { id: string }).id}`;
      },
      {
        authorize: (request, topics) => {
          expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
          expectTypeOf(topics).toEqualTypeOf<readonly string[]>();
          return request.headers["x-user"] !== undefined;
        },
        onError: (error, request) => {
          expectTypeOf(error).toBeUnknown();
          expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
        },
        presence: (request) => ({ id: request.ip }),
        snapshot: (topic, request) => {
          expectTypeOf(topic).toEqualTypeOf<string>();
          expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
          return topic === "room:0" ? undefined : `<li>${String(request.headers["x-user"])}</li>`;
        },
      },
    );
    expectTypeOf(events).toEqualTypeOf<RouteHandlerMethod>();
    expectTypeOf(contextHandlerFunc((request) => request.url)).toEqualTypeOf<RouteHandlerMethod>();
    expectTypeOf(handler(broker, ["a", "b"])).toEqualTypeOf<RouteHandlerMethod>();
    expectTypeOf(contextHandler("a")).toEqualTypeOf<RouteHandlerMethod>();
  });

  it("rejects options typed for another request, and topics that are not strings", () => {
    const koaLike: HandlerOptions<{ state: { user: string } }> = { authorize: () => true };
    // @ts-expect-error options typed for a koa-like context are not fastify's
    handlerFunc(broker, (request) => request.url, koaLike);
    // @ts-expect-error a topic function must return topics
    handlerFunc(broker, () => 42);
  });

  it("streamHandler's producer gets a RequestStream and FastifyRequest", () => {
    const report = streamHandler(async (stream, request) => {
      expectTypeOf(stream).toEqualTypeOf<RequestStream>();
      expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
    });
    expectTypeOf(report).toEqualTypeOf<RouteHandlerMethod>();
  });

  it("the plugin's request.broker, middleware, brokerFrom and requireBroker", () => {
    expectTypeOf<FastifyRequest["broker"]>().toEqualTypeOf<EventBroker | undefined>();
    expectTypeOf<SSEPluginOptions["broker"]>().toMatchTypeOf<
      EventBroker | (() => EventBroker | undefined)
    >();
    expectTypeOf(middleware(broker)).toEqualTypeOf<onRequestHookHandler>();
    expectTypeOf(brokerFrom).parameter(0).toEqualTypeOf<FastifyRequest>();
    expectTypeOf(brokerFrom).returns.toEqualTypeOf<EventBroker | undefined>();
    expectTypeOf(requireBroker).returns.toEqualTypeOf<EventBroker>();
  });
});
