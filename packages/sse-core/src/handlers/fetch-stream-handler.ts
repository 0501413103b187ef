import { ERROR_HEADERS, errorAnswer } from "../admission/answers.js";
import { reportError } from "../admission/error-reports.js";
import { type StreamOptions, StreamPlan } from "../admission/stream-plan.js";
import { SSEError, SSEOptionError } from "../base/errors.js";
import { eventBody } from "../transport/fetch-body.js";
import { STREAM_HEADERS } from "../transport/stream-headers.js";
import { LOGGED, StreamHandle, type StreamProducer, TIMING_OFF } from "./request-stream.js";

/**
 * {@link streamHandler} on the fetch standard: `(request) => Promise<Response>`
 * for Hono, Next.js route handlers, Bun and Deno. The body is a pull-based
 * `ReadableStream`, so an awaiting producer goes at the client's pace;
 * aborting the request or cancelling the body ends the stream and aborts
 * `stream.signal`. The same options, except `maxClientsPerAddress` (a
 * `Request` does not carry the client's address).
 *
 * @example
 * ```ts
 * // Next.js: app/reports/route.ts
 * export const POST = fetchStreamHandler(async (stream, request) => {
 *   await stream.send({ data: "<progress></progress>" });
 *   await stream.send({ data: await renderReport(await request.formData()) });
 * });
 * ```
 */
export function fetchStreamHandler(
  produce: StreamProducer<Request>,
  options?: StreamOptions<Request>,
): (request: Request) => Promise<Response> {
  if (typeof produce !== "function") {
    throw new SSEOptionError("produce", "must be a function (stream, request) => …", produce);
  }
  const plan = new StreamPlan(options);
  return async (request) => {
    let release: () => void;
    try {
      release = plan.reserve(undefined);
      try {
        if (plan.authorize !== undefined && !(await plan.authorize(request))) {
          throw new SSEError("sse: forbidden", 403);
        }
      } catch (err) {
        release();
        throw err;
      }
    } catch (err) {
      const { status, message, headers, report } = errorAnswer.of(err);
      if (report) reportError(plan.onError ?? LOGGED.authorize, err, request);
      return new Response(message, { status, headers: { ...ERROR_HEADERS, ...headers } });
    }
    const stream = new StreamHandle(plan as StreamPlan<never>);
    const queue = stream.queue;
    void queue.done.then(release);
    const body = eventBody(
      queue,
      { keepaliveMs: plan.keepaliveMs, ...TIMING_OFF },
      request.signal,
      { idle: () => stream.settle(true) },
    );
    if (!queue.closed) {
      void (async () => {
        try {
          await produce(stream, request);
        } catch (err) {
          if (!stream.closed) reportError(plan.onError ?? LOGGED.producer, err, request);
        } finally {
          stream.close();
        }
      })();
    }
    return new Response(body, { status: 200, headers: STREAM_HEADERS });
  };
}
