/**
 * A connect-style `next`: where a handler called by express (or connect)
 * passes an error it did not expect, once the client has its answer.
 */
export type NextFunction = (err?: unknown) => void;

/**
 * How a framework adapter takes part in serving one request: who answers a
 * bug, and when the framework must stop answering. Core's handlers follow
 * the framework's own error contract through these (express's `next(err)`,
 * koa's propagation, fastify's `setErrorHandler`) instead of answering
 * first. For adapter authors, from `@burrow/sse-core/adapter`.
 */
export interface FrameworkHooks<R> {
  /**
   * Called once, before core writes anything to the response (the stream's
   * head, or a refusal such as 403), and when core leaves a request whose
   * client is gone unanswered: from then on the framework must not answer
   * (koa: `ctx.respond = false`; fastify: `reply.hijack()`). Never called
   * for a bug handed to the framework (see `propagate`).
   */
  takeOver?(): void;
  /**
   * True: a bug before anything was written (a topic function, `authorize`
   * or `presence` that threw something without a 4xx status; a missing
   * broker) rejects the promise of `serveEvents` with the error and nothing
   * answered, for the framework's error handling to answer. False (the
   * default): core answers it 500 and reports it. A handler's
   * `options.onError`, when given, wins: core answers 500 and calls it.
   */
  propagate?: boolean;
  /**
   * The fix a missing broker's message names, in the framework's words
   * (e.g. `` put app.use(middleware(broker)) from @burrow/sse-express before this route ``).
   */
  noBrokerFix?: string;
  /**
   * Where a bug goes that can no longer be handed to the framework (the
   * stream started, or the answer was sent), unless `options.onError` is
   * given. Default: one `console.error` line.
   */
  report?(error: unknown, subject: R): void;
}
