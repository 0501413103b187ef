/**
 * The adapter suite's harness: what an adapter under test exposes, how its
 * framework is driven, and what its error handling answers.
 */
import type { TestServer } from "./server.js";

/** What every harness's error handling answers (with status 500), as an app's own error page. */
export const APP_ERROR_PAGE = "app error page";

/** What the suite needs of `@burrow/sse-core`'s `EventBroker`. */
export interface SuiteBroker {
  publish(topic: string, event: { data?: string }): number;
  stats(): { clients: number; topics: number };
  close(): void;
}

/** A topic function as the suite writes them. */
export type SuiteTopicsFn<Req> = (
  req: Req,
) => string | readonly string[] | Promise<string | readonly string[]>;

/** The handler options (core's `HandlerOptions`) that the suite sets. */
export interface SuiteOptions<Req> {
  keepaliveMs?: number;
  maxClients?: number;
  maxClientsPerAddress?: number;
  authorize?: (req: Req, topics: readonly string[]) => boolean | Promise<boolean>;
  swap?: boolean | Record<string, string | { target: string; swap?: string }>;
  onError?: (error: unknown, req: Req) => void;
  presence?: (req: Req) => { id: string; data?: unknown } | undefined;
  snapshot?: (topic: string, req: Req) => string | Promise<string> | undefined;
}

/** What the suite's request-stream producers use of core's `RequestStream`. */
export interface SuiteRequestStream {
  send(event: { type?: string; data?: string }): Promise<boolean>;
  readonly signal: AbortSignal;
}

/** An adapter under test: its exports, and how its framework is driven. */
export interface AdapterHarness<B extends SuiteBroker, Req, H> {
  newBroker(): B;
  api: {
    middleware(source: B | (() => B | undefined)): H;
    brokerFrom(req: Req): B | undefined;
    requireBroker(req: Req): B;
    handler(broker: B, topics: string | readonly string[], options?: SuiteOptions<Req>): H;
    handlerFunc(broker: B, topicsFn: SuiteTopicsFn<Req>, options?: SuiteOptions<Req>): H;
    contextHandler(topics: string | readonly string[], options?: SuiteOptions<Req>): H;
    contextHandlerFunc(topicsFn: SuiteTopicsFn<Req>, options?: SuiteOptions<Req>): H;
    streamHandler(
      produce: (stream: SuiteRequestStream, req: Req) => Promise<void>,
      options?: { authorize?: (req: Req) => boolean | Promise<boolean> },
    ): H;
  };
  /**
   * The fix the adapter's missing-broker message names (`sse: no broker on
   * this request: <fix>`), in its framework's words.
   */
  noBrokerFix: string;
  /**
   * Where a producer's error goes once its stream has started, when nothing
   * may answer it any more: `"error handling"` (koa's `error` event,
   * fastify's logger: recorded in `errors`), or `"log"` (express: one
   * `console.error` line, since express's error handling would write).
   */
  startedStreamErrors: "error handling" | "log";
  /** A route parameter (`/projects/:id`), as a topic function reads it. */
  param(req: Req, name: string): string;
  /** A request header, as a topic function reads it. */
  header(req: Req, name: string): string | undefined;
  /**
   * A middleware that calls `arrived`, then waits for `held` before it passes
   * the request on: an async step in front of a stream (a session lookup, a
   * rate limiter).
   */
  hold(held: Promise<void>, arrived: () => void): H;
  /**
   * Serves `routes` on loopback, after `use` when given: each `get` handler
   * on its path, each `all` handler on its path for every method, and each
   * `post` action on its path, answered 204. Records
   * in `errors` whatever reaches the framework's error handling (express
   * error middleware, koa's middleware chain and `error` event, fastify's
   * `setErrorHandler`), which answers it {@link APP_ERROR_PAGE} with status
   * 500 as an app's handler would: a stream must put nothing there, a bug (a
   * throwing topic function, a missing broker) exactly one error.
   */
  serve(routes: {
    use?: H;
    get?: Record<string, H>;
    all?: Record<string, H>;
    post?: Record<string, (req: Req) => void>;
  }): Promise<{ server: TestServer; errors: unknown[] }>;
}
