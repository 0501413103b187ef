import type { IncomingMessage } from "node:http";
import { describe, expectTypeOf, it } from "vitest";
import {
  type BrokerSource,
  brokerFrom,
  contextHandler,
  contextHandlerFunc,
  EventBroker,
  fetchHandler,
  handler,
  handlerFunc,
  requireBroker,
  type SSEEvent,
  type TopicMap,
  type TopicOf,
  withBroker,
} from "./index.js";

// Checked by `pnpm typecheck` (tsc over src): each `@ts-expect-error` must
// meet an error, and every other line must compile. Never run: the `it`s
// only make the file a suite (the refused calls would throw at run time).
const compiled = (_checks: () => void) => () => {};

/** What an app's escape function returns: HTML that may be swapped in. */
type Html = string & { readonly __brand: "Html" };
declare const html: Html;

type AppTopics = {
  notes: Html;
  status: string;
  [project: `project:${string}`]: string;
};

const broker = new EventBroker<AppTopics>();
const untyped = new EventBroker();
declare const req: IncomingMessage;
declare const anyTopic: string;

describe("typed topics: EventBroker<TopicMap>", () => {
  it(
    "publish takes declared topics, literal or matching a pattern, with their data type",
    compiled(() => {
      broker.publish("notes", { data: html });
      broker.publish("status", { data: "<span>ok</span>" });
      broker.publish("project:42", { data: "Build passed" });
      broker.publish("notes", { type: "bye" }); // data stays optional
      // @ts-expect-error an undeclared topic
      broker.publish("note", { data: html });
      // @ts-expect-error matches no pattern: "project-42" is not "project:…"
      broker.publish("project-42", { data: "x" });
      // @ts-expect-error a string that may be any topic
      broker.publish(anyTopic, { data: "x" });
      // @ts-expect-error notes carries Html, not any string
      broker.publish("notes", { data: "<b>raw</b>" });
      // @ts-expect-error data is a string type, never a number
      broker.publish("status", { data: 42 });
    }),
  );

  it(
    "subscribe and members take only declared topics",
    compiled(() => {
      broker.subscribe(["notes", "project:7"]);
      broker.subscribe("status", { lastEventId: "1" });
      void broker.members("project:7");
      // @ts-expect-error an undeclared topic in the list
      broker.subscribe(["notes", "news"]);
      // @ts-expect-error an undeclared topic
      broker.subscribe("news");
      // @ts-expect-error an undeclared topic
      void broker.members("news");
    }),
  );

  it(
    "the map is a type alias of string types: an interface or a number is refused",
    compiled(() => {
      interface NotAMap {
        notes: string;
      }
      // @ts-expect-error an interface has no implicit index signature: declare the map with `type`
      new EventBroker<NotAMap>();
      // @ts-expect-error SSE data is text
      new EventBroker<{ count: number }>();
      expectTypeOf<TopicOf<AppTopics>>().toEqualTypeOf<"notes" | "status" | `project:${string}`>();
    }),
  );

  it(
    "a typed broker goes wherever a broker goes; one read back from a request is typed again by annotation",
    compiled(() => {
      const source: BrokerSource = broker;
      const later: BrokerSource = () => broker;
      withBroker(req, broker);
      const plain: EventBroker = broker;
      const back: EventBroker<AppTopics> = requireBroker(req);
      const maybe: EventBroker<AppTopics> | undefined = brokerFrom(req);
      // @ts-expect-error typed again: an undeclared topic
      back.publish("news", { data: "x" });
      void [source, later, plain, maybe];
    }),
  );
});

describe("typed topics: handlers take the broker's topics", () => {
  it(
    "handler: declared topics, patterns included; anything else refused",
    compiled(() => {
      handler(broker, "notes");
      handler(broker, ["notes", "status", "project:42"]);
      // @ts-expect-error an undeclared topic
      handler(broker, "news");
      // @ts-expect-error an undeclared topic in the list
      handler(broker, ["notes", "news"]);
      // @ts-expect-error a string that may be any topic
      handler(broker, anyTopic);
    }),
  );

  it(
    "handlerFunc: the topic function returns declared topics (sync, async, lists)",
    compiled(() => {
      handlerFunc(broker, (r) => `project:${r.url}`);
      handlerFunc(broker, async (r) => [`project:${r.url}`, "notes"]);
      handlerFunc(broker, (r) => (r.url === "/" ? "notes" : "status"));
      // @ts-expect-error "room:…" matches no declared topic
      handlerFunc(broker, (r) => `room:${r.url}`);
      // @ts-expect-error any string is not a declared topic
      handlerFunc(broker, (r) => r.url ?? "notes");
      // @ts-expect-error an undeclared topic in an async list
      handlerFunc(broker, async () => ["notes", "news"]);
    }),
  );

  it(
    "fetchHandler: fixed topics and topic functions alike",
    compiled(() => {
      fetchHandler(broker, ["notes", "status"]);
      fetchHandler(broker, (request) => `project:${new URL(request.url).pathname}`);
      // @ts-expect-error an undeclared topic
      fetchHandler(broker, "news");
      // @ts-expect-error a topic function returning an undeclared topic
      fetchHandler(broker, () => "news");
    }),
  );

  it(
    "a swap map names only the handler's topics (static), or declared ones (dynamic)",
    compiled(() => {
      handler(broker, ["notes", "status"], {
        swap: { notes: { target: "#notes", swap: "beforeend" }, status: "#status" },
      });
      handler(broker, ["notes", "status"], { swap: { notes: "#notes" } });
      handler(broker, "notes", { swap: true });
      // @ts-expect-error status is declared, but not one of this handler's topics
      handler(broker, "notes", { swap: { status: "#status" } });
      // @ts-expect-error a typo of a topic
      handler(broker, ["notes"], { swap: { note: "#notes" } });
      handlerFunc(broker, (r) => `project:${r.url}`, { swap: { "project:1": "#p" } });
      // @ts-expect-error notes is not what this topic function returns
      handlerFunc(broker, (r) => `project:${r.url}`, { swap: { notes: "#notes" } });
    }),
  );

  it(
    "context handlers know no broker: untyped by default, the map as an explicit type argument",
    compiled(() => {
      contextHandler("anything");
      contextHandlerFunc((r) => r.url ?? "anything");
      contextHandler<IncomingMessage, AppTopics>(["notes", "project:1"], { swap: { notes: "#n" } });
      contextHandlerFunc<IncomingMessage, AppTopics>((r) => `project:${r.url}`);
      // @ts-expect-error an undeclared topic, once the map is given
      contextHandler<IncomingMessage, AppTopics>("news");
      // @ts-expect-error a topic function returning an undeclared topic
      contextHandlerFunc<IncomingMessage, AppTopics>(() => "news");
    }),
  );
});

describe("untyped brokers: as before typed topics", () => {
  it(
    "new EventBroker() is EventBroker<TopicMap>: any topic, any string data",
    compiled(() => {
      expectTypeOf(untyped).toEqualTypeOf<EventBroker>();
      expectTypeOf(untyped).toEqualTypeOf<EventBroker<TopicMap>>();
      expectTypeOf<TopicOf<TopicMap>>().toEqualTypeOf<string>();
      expectTypeOf<SSEEvent>().toEqualTypeOf<SSEEvent<string>>();
      untyped.publish(anyTopic, { data: "x" });
      untyped.publish("project-42", { data: html });
      untyped.subscribe([anyTopic, "news"]);
      void untyped.members(anyTopic);
      // @ts-expect-error data is still a string
      untyped.publish("news", { data: 42 });
    }),
  );

  it(
    "handlers take any topic, and a swap map any key",
    // Types only: at run time a key that none of a handler's fixed topics is throws.
    compiled(() => {
      handler(untyped, anyTopic);
      handler(untyped, ["news", "weather"], { swap: { elsewhere: "#x" } });
      handlerFunc(untyped, (r) => r.url ?? "news", { swap: { elsewhere: "#x" } });
      fetchHandler(untyped, (request) => request.url);
      const list: readonly string[] = ["a", "b"];
      handler(untyped, list);
    }),
  );
});
