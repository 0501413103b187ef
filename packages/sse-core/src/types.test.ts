import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expectTypeOf, it } from "vitest";
import {
  brokerFrom,
  type Client,
  EventBroker,
  fetchHandler,
  fetchStreamHandler,
  type HandlerOptions,
  handler,
  handlerFunc,
  type RequestStream,
  type SSEEvent,
  type SSEResponse,
  streamHandler,
  type TopicsFn,
} from "./index.js";

// Checked by `pnpm typecheck` (tsc over src): a wrong generic fails the build.
// At run time these assertions are no-ops; the `it`s only make the file a suite.

describe("public generics", () => {
  it("TopicsFn<R> receives R and may return one topic, a list, or a promise of either", () => {
    expectTypeOf<TopicsFn<{ id: string }>>().parameter(0).toEqualTypeOf<{ id: string }>();
    const one: TopicsFn<{ id: string }> = (r) => `room:${r.id}`;
    const many: TopicsFn<{ id: string }> = async (r) => [`a:${r.id}`, "b"];
    expectTypeOf(one).toBeFunction();
    expectTypeOf(many).returns.toEqualTypeOf<
      string | readonly string[] | Promise<string | readonly string[]>
    >();
    // @ts-expect-error a number is not a topic
    const bad: TopicsFn<object> = () => 42;
    void bad;
  });

  it("handlerFunc infers the request type for topicsFn and authorize from node:http by default", () => {
    const broker = new EventBroker();
    handlerFunc(
      broker,
      (req) => {
        expectTypeOf(req).toEqualTypeOf<IncomingMessage>();
        return "t";
      },
      {
        authorize: (req, topics) => {
          expectTypeOf(req).toEqualTypeOf<IncomingMessage>();
          expectTypeOf(topics).toEqualTypeOf<readonly string[]>();
          return true;
        },
      },
    );
    expectTypeOf(handler(broker, "t")).parameter(1).toEqualTypeOf<SSEResponse>();
    expectTypeOf<ServerResponse>().toMatchTypeOf<SSEResponse>();
  });

  it("HandlerOptions<R> types authorize's request per framework", () => {
    type Ctx = { state: { user: string } };
    const options: HandlerOptions<Ctx> = { authorize: (ctx) => ctx.state.user === "ann" };
    expectTypeOf(options.authorize).parameter(0).toEqualTypeOf<Ctx>();
    // @ts-expect-error authorize must return a boolean (or a promise of one)
    const wrong: HandlerOptions<Ctx> = { authorize: () => "yes" };
    void wrong;
  });

  it("fetchHandler and fetchStreamHandler speak Request and Response", () => {
    const broker = new EventBroker();
    expectTypeOf(fetchHandler(broker, (request) => new URL(request.url).pathname)).toEqualTypeOf<
      (request: Request) => Promise<Response>
    >();
    const report = fetchStreamHandler(async (stream, request) => {
      expectTypeOf(stream).toEqualTypeOf<RequestStream>();
      expectTypeOf(request).toEqualTypeOf<Request>();
      expectTypeOf(stream.send).returns.toEqualTypeOf<Promise<boolean>>();
    });
    expectTypeOf(report).toEqualTypeOf<(request: Request) => Promise<Response>>();
  });

  it("the snapshot option gets the handler's request and may return html, a promise of it, or undefined", () => {
    const broker = new EventBroker({ topics: { "t*": { target: "#t" } } });
    handlerFunc(broker, () => "t", {
      snapshot: (topic, req) => {
        expectTypeOf(topic).toEqualTypeOf<string>();
        expectTypeOf(req).toEqualTypeOf<IncomingMessage>();
        return req.url === "/" ? undefined : "<li>mine</li>";
      },
    });
    fetchHandler(broker, "t", {
      snapshot: async (_topic, request) => {
        expectTypeOf(request).toEqualTypeOf<Request>();
        return "<li>mine</li>";
      },
    });
    // @ts-expect-error a snapshot is HTML, not a number
    const wrong: HandlerOptions<Request> = { snapshot: () => 42 };
    void wrong;
  });

  it("streamHandler gives produce node's request by default, and an adapter's subject when typed", () => {
    streamHandler((_stream, req) => {
      expectTypeOf(req).toEqualTypeOf<IncomingMessage>();
    });
    streamHandler<{ params: { id: string } }>((_stream, ctx) => {
      expectTypeOf(ctx.params.id).toBeString();
    });
  });

  it("brokerFrom may find no broker; subscribe returns an async iterable of events", () => {
    expectTypeOf(brokerFrom).returns.toEqualTypeOf<EventBroker | undefined>();
    const client = new EventBroker().subscribe("t");
    expectTypeOf(client).toEqualTypeOf<Client>();
    expectTypeOf(client).toMatchTypeOf<AsyncIterable<SSEEvent>>();
    expectTypeOf(new EventBroker().cursor()).toEqualTypeOf<Promise<string | undefined>>();
  });
});
