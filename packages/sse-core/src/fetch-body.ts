import type { Subscription } from "./client.js";
import { DEFAULT_WRITE_BUDGET, EventStream, type StreamTiming } from "./event-stream.js";
import type { FrameFormat } from "./frame.js";

/**
 * The body of a fetch-standard event stream: a pull-based `ReadableStream`
 * that one {@link EventStream} drains `client` into, so backpressure works as
 * on `node:http`. Aborting `signal` or cancelling the body makes `client`
 * leave; `idle` is told whenever everything queued was
 * handed over. The one fetch transport of `fetchHandler` and
 * `fetchStreamHandler`. @internal
 */
export function eventBody(
  client: Subscription,
  timing: StreamTiming,
  signal: AbortSignal,
  options: { format?: FrameFormat; idle?: () => void } = {},
): ReadableStream<Uint8Array> {
  const onAbort = (): void => client.leave();
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
            idle: options.idle,
          },
          timing,
          DEFAULT_WRITE_BUDGET,
          options.format,
        );
      },
      pull() {
        events?.drained();
      },
      cancel() {
        client.leave();
      },
    },
    { highWaterMark: DEFAULT_WRITE_BUDGET, size: (chunk) => chunk.byteLength },
  );
  if (signal.aborted) client.leave();
  else if (!client.closed) signal.addEventListener("abort", onAbort, { once: true });
  return body;
}
