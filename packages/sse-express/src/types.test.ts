import { EventBroker, type RequestStream } from "@burrow/sse-core";
import type { Request, RequestHandler } from "express";
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
  streamHandler,
} from "./index.js";

// Checked by `pnpm typecheck` (tsc over src): a wrong generic fails the build.
// At run time these assertions are no-ops; the `it`s only make the file a suite.

describe("express: handler options are typed with express's Request", () => {
  const broker = new EventBroker();

  it("topicsFn, authorize, onError, presence and snapshot receive express's Request", () => {
    const events = handlerFunc(
      broker,
      (req) => {
        expectTypeOf(req).toEqualTypeOf<Request>();
        return `room:${req.params.id}`;
      },
      {
        authorize: (req, topics) => {
          expectTypeOf(req).toEqualTypeOf<Request>();
          expectTypeOf(topics).toEqualTypeOf<readonly string[]>();
          return req.get("x-user") !== undefined;
        },
        onError: (error, req) => {
          expectTypeOf(error).toBeUnknown();
          expectTypeOf(req).toEqualTypeOf<Request>();
        },
        presence: (req) => ({ id: req.ip ?? "anonymous" }),
        snapshot: (topic, req) => {
          expectTypeOf(topic).toEqualTypeOf<string>();
          expectTypeOf(req).toEqualTypeOf<Request>();
          return topic === "room:0" ? undefined : `<li>${req.get("x-user") ?? ""}</li>`;
        },
      },
    );
    expectTypeOf(events).toEqualTypeOf<RequestHandler>();
    expectTypeOf(contextHandlerFunc((req) => req.path)).toEqualTypeOf<RequestHandler>();
    expectTypeOf(handler(broker, ["a", "b"])).toEqualTypeOf<RequestHandler>();
    expectTypeOf(contextHandler("a")).toEqualTypeOf<RequestHandler>();
  });

  it("rejects options typed for another request, and topics that are not strings", () => {
    const koaLike: HandlerOptions<{ state: { user: string } }> = { authorize: () => true };
    // @ts-expect-error options typed for a koa-like context are not express's
    handlerFunc(broker, (req) => req.path, koaLike);
    // @ts-expect-error a topic function must return topics
    handlerFunc(broker, () => 42);
  });

  it("streamHandler's producer gets a RequestStream and express's Request", () => {
    const report = streamHandler(async (stream, req) => {
      expectTypeOf(stream).toEqualTypeOf<RequestStream>();
      expectTypeOf(req).toEqualTypeOf<Request>();
    });
    expectTypeOf(report).toEqualTypeOf<RequestHandler>();
  });

  it("middleware, brokerFrom and requireBroker", () => {
    expectTypeOf(middleware(broker)).toEqualTypeOf<RequestHandler>();
    expectTypeOf(middleware(() => broker)).toEqualTypeOf<RequestHandler>();
    expectTypeOf(brokerFrom).parameter(0).toEqualTypeOf<Request>();
    expectTypeOf(brokerFrom).returns.toEqualTypeOf<EventBroker | undefined>();
    expectTypeOf(requireBroker).returns.toEqualTypeOf<EventBroker>();
  });
});
