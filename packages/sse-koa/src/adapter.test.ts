import { EventBroker } from "@burrow/sse-core";
import { APP_ERROR_PAGE, describeAdapter, listen } from "@burrow/test-utils";
import Router from "@koa/router";
import Koa, { type Context } from "koa";
import Koa2 from "koa2";
import * as api from "./index.js";

// The peer range is ^2.15.0 || ^3.0.0: the whole suite runs on both.
for (const [version, App] of [
  ["koa 3", Koa],
  ["koa 2", Koa2],
] as const) {
  describeAdapter(version, {
    noBrokerFix: "put app.use(middleware(broker)) from @burrow/sse-koa before this route",
    startedStreamErrors: "error handling",
    newBroker: () => new EventBroker(),
    api,
    param: (ctx: Context, name) => ctx.params[name],
    header: (ctx: Context, name) => ctx.get(name) || undefined,
    hold: (held, arrived) => async (_ctx: Context, next: () => Promise<unknown>) => {
      arrived();
      await held;
      await next();
    },
    async serve({ use, get = {}, all = {}, post = {} }) {
      const errors: unknown[] = [];
      const app = new App();
      // Koa reports here what it could not send, e.g. "headers already sent".
      app.on("error", (err: unknown) => errors.push(err));
      // An app's own error handling, first in the chain: it answers what propagates.
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          errors.push(err);
          ctx.status = 500;
          ctx.body = APP_ERROR_PAGE;
        }
      });
      const router = new Router();
      if (use) app.use(use);
      for (const [path, handler] of Object.entries(get)) router.get(path, handler);
      for (const [path, handler] of Object.entries(all)) router.all(path, handler);
      for (const [path, action] of Object.entries(post)) {
        router.post(path, (ctx) => {
          action(ctx);
          ctx.status = 204;
        });
      }
      app.use(router.routes());
      return { server: await listen(app.callback()), errors };
    },
  });
}
