import { admitRequest, lastEventIdOf } from "../admission/admission.js";
import { ERROR_HEADERS, errorAnswer } from "../admission/answers.js";
import { logError, reportError } from "../admission/error-reports.js";
import { type HandlerOptions, planOf } from "../admission/handler-options.js";
import type { EventBroker } from "../broker/broker.js";
import { eventBody } from "../transport/fetch-body.js";
import { STREAM_HEADERS } from "../transport/stream-headers.js";
import type { SwapKeys } from "../wire/swap.js";
import type { TopicMap, TopicOf, Topics, TopicsFn } from "../wire/topics.js";
import { validateBroker, validateSnapshotTopics, validateTopics } from "./argument-checks.js";

const logFetchError = logError("could not serve an event stream");

/**
 * A handler on the fetch standard, `(request) => Promise<Response>`, for Hono,
 * Next.js route handlers, Bun, Deno and anything else that speaks
 * `Request`/`Response`. The body is a pull-based `ReadableStream` (so
 * backpressure works as on `node:http`); aborting the request or cancelling
 * the body unsubscribes. A client resuming from a backplane's history gets
 * the `Response` and its first bytes (a `:resuming` comment) at once, so a
 * bridge that sends the head with the body's first bytes sends it then; the
 * replay follows. The same checks and answers as {@link serveEvents},
 * except the per-address cap (a `Request` does not carry the client address).
 * A request whose signal is aborted by the time it is admitted is never
 * subscribed and is answered 499 (nginx's "client closed request") with no body.
 * A bug (a topic function or `authorize` that threw an error without a 4xx
 * status) is answered a bare 500 and goes to `options.onError(error,
 * request)`, by default logged with `console.error`. Throws an
 * {@link SSEOptionError} at once for a bad argument or option. On a typed
 * broker, `topics` (or what the function returns) must be topics it declares.
 *
 * @example
 * ```ts
 * // Next.js: app/events/route.ts
 * import { EventBroker, fetchHandler } from "@burrow/sse-core";
 * export const broker = new EventBroker();
 * export const GET = fetchHandler(broker, "notifications");
 * ```
 */
export function fetchHandler<T extends TopicMap = TopicMap, K extends TopicOf<T> = TopicOf<T>>(
  broker: EventBroker<T>,
  topics: Topics<K> | TopicsFn<Request, K>,
  options?: HandlerOptions<Request, SwapKeys<T, K>>,
): (request: Request) => Promise<Response> {
  validateBroker(broker);
  const plan = planOf(options);
  const { timing } = plan;
  const onError = plan.onError ?? logFetchError;
  const fixed = typeof topics === "function" ? undefined : validateTopics(topics, options);
  if (fixed !== undefined) validateSnapshotTopics(broker, fixed, options);
  return async (request) => {
    const lastEventId = lastEventIdOf(request.headers.get("last-event-id"), request.url);
    let admission: Awaited<ReturnType<typeof admitRequest>>;
    try {
      admission = await admitRequest(
        {
          method: request.method,
          lastEventId,
          address: undefined,
          htmx: request.headers.has("hx-request"),
        },
        broker,
        fixed ?? (() => (topics as TopicsFn<Request>)(request)),
        plan,
        request,
      );
    } catch (err) {
      const { status, message, headers, report } = errorAnswer.of(err);
      if (report) reportError(onError, err, request);
      return new Response(message, { status, headers: { ...ERROR_HEADERS, ...headers } });
    }
    const signal = request.signal;
    if (signal.aborted) {
      // The client left while it was being admitted: no stream, no slot.
      admission.cancel();
      return new Response(null, { status: 499, statusText: "Client Closed Request" });
    }
    const client = admission.open(lastEventId);
    const body = eventBody(client, timing, signal, { format: admission.format });
    return new Response(body, { status: 200, headers: STREAM_HEADERS });
  };
}
