import { admitRequest, limitsOf } from "./admission.js";
import type { EventBroker } from "./broker.js";
import { DEFAULT_WRITE_BUDGET, EventStream, timingOf } from "./event-stream.js";
import { ERROR_HEADERS, errorAnswer, lastEventIdOf, STREAM_HEADERS } from "./http.js";
import { checkTopicLimits } from "./limits.js";
import type { HandlerOptions } from "./options.js";
import { checkPresenceOption } from "./presence.js";
import { swapFormatOf } from "./swap.js";
import { normalizeTopics, type Topics, type TopicsFn } from "./topics.js";

/**
 * A handler on the fetch standard, `(request) => Promise<Response>`, for Hono,
 * Next.js route handlers, Bun, Deno and anything else that speaks
 * `Request`/`Response`. The body is a pull-based `ReadableStream` (so
 * backpressure works as on `node:http`); aborting the request or cancelling
 * the body unsubscribes. The same checks and answers as {@link serveEvents},
 * except the per-address cap (a `Request` does not carry the client address).
 * A request whose signal is aborted by the time it is admitted is never
 * subscribed and is answered 499 (nginx's "client closed request") with no body.
 *
 * @example
 * ```ts
 * // Next.js: app/events/route.ts
 * import { EventBroker, fetchHandler } from "@burrow/sse-core";
 * export const broker = new EventBroker();
 * export const GET = fetchHandler(broker, "notifications");
 * ```
 */
export function fetchHandler(
  broker: EventBroker,
  topics: Topics | TopicsFn<Request>,
  options: HandlerOptions<Request> = {},
): (request: Request) => Promise<Response> {
  const timing = timingOf(options);
  const limits = limitsOf(options);
  const format = swapFormatOf(options);
  checkPresenceOption(options.presence);
  const fixed = typeof topics === "function" ? undefined : normalizeTopics(topics);
  if (fixed !== undefined) checkTopicLimits(fixed, limits);
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
        options,
        limits,
        request,
      );
    } catch (err) {
      const { status, message, headers } = errorAnswer.of(err);
      return new Response(message, { status, headers: { ...ERROR_HEADERS, ...headers } });
    }
    const signal = request.signal;
    if (signal.aborted) {
      // The client left while it was being admitted: no stream, no slot.
      admission.cancel();
      return new Response(null, { status: 499, statusText: "Client Closed Request" });
    }
    const client = admission.subscribe(lastEventId);
    const onAbort = (): void => broker.unsubscribe(client);
    let events: EventStream | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          events = new EventStream(
            client,
            {
              write(chunk) {
                controller.enqueue(chunk);
                return (controller.desiredSize ?? 0) > 0;
              },
              end() {
                signal.removeEventListener("abort", onAbort);
                try {
                  controller.close();
                } catch {
                  // already closed or errored by the consumer: nothing to end
                }
              },
            },
            timing,
            DEFAULT_WRITE_BUDGET,
            format,
          );
        },
        pull() {
          events?.drained();
        },
        cancel() {
          broker.unsubscribe(client);
        },
      },
      { highWaterMark: DEFAULT_WRITE_BUDGET, size: (chunk) => chunk.byteLength },
    );
    if (!client.closed) signal.addEventListener("abort", onAbort, { once: true });
    return new Response(body, { status: 200, headers: STREAM_HEADERS });
  };
}
