import { EventBroker } from "@burrow/sse-core";
import { APP_ERROR_PAGE, describeAdapter, listen } from "@burrow/test-utils";
import express, { type NextFunction, type Request, type Response } from "express";
import express4 from "express4";
import * as api from "./index.js";

for (const [version, createApp] of [
  ["express 5", express],
  ["express 4", express4],
] as const) {
  describeAdapter(version, {
    noBrokerFix: "put app.use(middleware(broker)) from @burrow/sse-express before this route",
    startedStreamErrors: "log",
    newBroker: () => new EventBroker(),
    api,
    param: (req: Request, name) => String(req.params[name]),
    header: (req: Request, name) => req.get(name),
    hold: (held, arrived) => (_req: Request, _res: Response, next: NextFunction) => {
      arrived();
      void held.then(() => next());
    },
    async serve({ use, get = {}, all = {}, post = {} }) {
      const errors: unknown[] = [];
      const app = createApp();
      if (use) app.use(use);
      for (const [path, handler] of Object.entries(get)) app.get(path, handler);
      for (const [path, handler] of Object.entries(all)) app.all(path, handler);
      for (const [path, action] of Object.entries(post)) {
        app.post(path, (req, res) => {
          action(req);
          res.sendStatus(204);
        });
      }
      // A stream must never fall through to later middleware or reach an
      // error handler, not even when its client disconnects.
      app.use((req: Request, _res: Response, next: NextFunction) => {
        errors.push(`fell through: ${req.method} ${req.url}`);
        next();
      });
      // The error handler tutorials show: it answers without checking headersSent.
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        errors.push(err);
        res.status(500).end(APP_ERROR_PAGE);
      });
      return { server: await listen(app), errors };
    },
  });
}
