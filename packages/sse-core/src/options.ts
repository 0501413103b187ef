import type { Limits } from "./limits.js";
import type { SSERequest } from "./node-handler.js";

/**
 * Decides whether a request may watch `topics`: false answers 403; a thrown
 * error with a `status` or `statusCode` answers that status. Sync or async.
 * `R` is what the handler serves: a `node:http` request, express's `req`,
 * koa's `ctx`, or a fetch `Request`.
 */
export type Authorize<R> = (req: R, topics: readonly string[]) => boolean | Promise<boolean>;

/** Options every handler accepts (core's and every adapter's). */
export interface HandlerOptions<R = SSERequest> extends Limits {
  /**
   * Interval of the `:keepalive` comment that stops proxies from closing an
   * idle stream, in milliseconds; 0 turns it off.
   * @default 30000
   */
  keepaliveMs?: number;
  /**
   * Called with the request and its topics before anything is subscribed.
   * @default undefined (everyone may watch every topic the handler serves)
   */
  authorize?: Authorize<R>;
  /**
   * When the broker closes (shutdown), each stream is sent a `retry:` of a
   * random number of milliseconds below this before it ends, so thousands of
   * browsers do not reconnect in the same second. 0 sends none.
   * @default 5000
   */
  reconnectWindowMs?: number;
}
