import {
  type FrameworkHandlers,
  type FrameworkHooks,
  frameworkHandlers,
} from "@burrow/sse-core/adapter";
import type { NextFunction, Request, RequestHandler, Response } from "express";

/** What a missing broker's message tells an express app to do. @internal */
export const NO_BROKER_FIX =
  "put app.use(middleware(broker)) from @burrow/sse-express before this route";

/**
 * Express's error contract: a bug before the stream starts goes to
 * `next(err)` with nothing answered, so the app's error handler (or
 * express's final handler) answers it; once the stream has started, nothing
 * is handed on that could write to it (the error is logged, or goes to
 * `options.onError`).
 */
const HOOKS: FrameworkHooks<Request> = Object.freeze({
  propagate: true,
  noBrokerFix: NO_BROKER_FIX,
});

/**
 * Express's handler set, built by core: `(req, res, next)`, topic functions
 * and callbacks receive express's `req`. @internal
 */
export const expressHandlers: FrameworkHandlers<Request, RequestHandler> = frameworkHandlers<
  [Request, Response, NextFunction],
  Request,
  void
>({
  read: (req, res) => ({ req, res, subject: req }),
  hooks: () => HOOKS,
  settle: (served, _req, _res, next) => {
    void served.catch((error: unknown) => {
      try {
        next(error);
      } catch (failure) {
        console.error("sse: express's next(err) threw", failure);
      }
    });
  },
});
