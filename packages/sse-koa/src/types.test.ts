import { EventBroker, type NodeMiddleware, type RequestStream } from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { describe, expectTypeOf, it } from "vitest";
import {
  brokerFrom,
  contextHandler,
  contextHandlerFunc,
  fromNodeMiddleware,
  type HandlerOptions,
  handler,
  handlerFunc,
  middleware,
  requireBroker,
  streamHandler,
} from "./index.js";

// Checked by `pnpm typecheck` (tsc over src): a wrong generic fails the build.
// At run time these assertions are no-ops; the `it`s only make the file a suite.

describe("koa: handler options are typed with koa's Context", () => {
  const broker = new EventBroker();

  it("topicsFn, authorize, onError, presence and snapshot receive koa's Context", () => {
    const events = handlerFunc(
      broker,
      (ctx) => {
        expectTypeOf(ctx).toEqualTypeOf<Context>();
        return `room:${ctx.query.id}`;
      },
      {
        authorize: (ctx, topics) => {
          expectTypeOf(ctx).toEqualTypeOf<Context>();
          expectTypeOf(topics).toEqualTypeOf<readonly string[]>();
          return ctx.get("x-user") !== "";
        },
        onError: (error, ctx) => {
          expectTypeOf(error).toBeUnknown();
          expectTypeOf(ctx).toEqualTypeOf<Context>();
        },
        presence: (ctx) => ({ id: ctx.ip }),
        snapshot: (topic, ctx) => {
          expectTypeOf(topic).toEqualTypeOf<string>();
          expectTypeOf(ctx).toEqualTypeOf<Context>();
          return topic === "room:0" ? undefined : `<li>${ctx.get("x-user")}</li>`;
        },
      },
    );
    expectTypeOf(events).toEqualTypeOf<Middleware>();
    expectTypeOf(contextHandlerFunc((ctx) => ctx.path)).toEqualTypeOf<Middleware>();
    expectTypeOf(handler(broker, ["a", "b"])).toEqualTypeOf<Middleware>();
    expectTypeOf(contextHandler("a")).toEqualTypeOf<Middleware>();
  });

  it("rejects options typed for another request, and topics that are not strings", () => {
    const expressLike: HandlerOptions<{ params: { id: string } }> = { authorize: () => true };
    // @ts-expect-error options typed for an express-like request are not koa's
    handlerFunc(broker, (ctx) => ctx.path, expressLike);
    // @ts-expect-error a topic function must return topics
    handlerFunc(broker, () => 42);
  });

  it("streamHandler's producer gets a RequestStream and koa's Context", () => {
    const report = streamHandler(async (stream, ctx) => {
      expectTypeOf(stream).toEqualTypeOf<RequestStream>();
      expectTypeOf(ctx).toEqualTypeOf<Context>();
    });
    expectTypeOf(report).toEqualTypeOf<Middleware>();
  });

  it("middleware, brokerFrom, requireBroker and fromNodeMiddleware", () => {
    expectTypeOf(middleware(broker)).toEqualTypeOf<Middleware>();
    expectTypeOf(middleware(() => broker)).toEqualTypeOf<Middleware>();
    expectTypeOf(brokerFrom).parameter(0).toEqualTypeOf<Context>();
    expectTypeOf(brokerFrom).returns.toEqualTypeOf<EventBroker | undefined>();
    expectTypeOf(requireBroker).returns.toEqualTypeOf<EventBroker>();
    expectTypeOf(fromNodeMiddleware).parameter(0).toEqualTypeOf<NodeMiddleware>();
  });
});
