import { EventBroker } from "@burrow/sse-core";
import type { Context, Middleware } from "koa";
import { describe, expectTypeOf, it } from "vitest";
import { contextHandler, contextHandlerFunc, handler, handlerFunc } from "./index.js";

// Typed topics through the koa adapter. Checked by `pnpm typecheck` (tsc
// over src): each `@ts-expect-error` must meet an error, every other line
// must compile. Never run: the `it`s only make the file a suite (the refused
// calls would throw at run time).
const compiled = (_checks: () => void) => () => {};

type AppTopics = { notes: string; status: string; [project: `project:${string}`]: string };
const broker = new EventBroker<AppTopics>();
const untyped = new EventBroker();
declare const anyTopic: string;

describe("koa: handlers take a typed broker's topics", () => {
  it(
    "handler: declared topics and patterns; an undeclared one, or a swap key not its own, refused",
    compiled(() => {
      expectTypeOf(handler(broker, ["notes", "project:42"])).toEqualTypeOf<Middleware>();
      handler(broker, ["notes", "status"], { swap: { notes: "#notes", status: "#status" } });
      // @ts-expect-error an undeclared topic
      handler(broker, "news");
      // @ts-expect-error "project-42" matches no declared pattern
      handler(broker, ["notes", "project-42"]);
      // @ts-expect-error status is declared, but not one of this handler's topics
      handler(broker, "notes", { swap: { status: "#status" } });
    }),
  );

  it(
    "handlerFunc: the topic function returns declared topics",
    compiled(() => {
      handlerFunc(broker, (ctx) => `project:${ctx.path}`, { swap: { "project:1": "#p" } });
      handlerFunc(broker, async (ctx) => [`project:${ctx.path}`, "notes"]);
      // @ts-expect-error "room:…" matches no declared topic
      handlerFunc(broker, (ctx) => `room:${ctx.path}`);
      // @ts-expect-error any string is not a declared topic
      handlerFunc(broker, () => anyTopic);
    }),
  );

  it(
    "context handlers: untyped by default; with the map as a type argument, checked",
    compiled(() => {
      contextHandler("anything");
      contextHandlerFunc(() => anyTopic);
      contextHandler<AppTopics>(["notes", "project:1"], { swap: { notes: "#notes" } });
      contextHandlerFunc<AppTopics>((ctx) => `project:${ctx.path}`);
      // @ts-expect-error an undeclared topic, once the map is given
      contextHandler<AppTopics>("news");
      // @ts-expect-error a topic function returning an undeclared topic
      contextHandlerFunc<AppTopics>(() => "news");
    }),
  );

  it(
    "an untyped broker takes any topic, and a swap map any key, as before",
    compiled(() => {
      handler(untyped, anyTopic, { swap: { elsewhere: "#x" } });
      handlerFunc(untyped, (ctx: Context) => `room:${ctx.path}`);
      handlerFunc(untyped, () => anyTopic, { swap: { elsewhere: "#x" } });
    }),
  );
});
