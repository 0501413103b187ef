import { DEFAULT_WRITE_BUDGET, EventStream, type StreamTiming } from "../delivery/event-stream.js";
import type { Subscription } from "../delivery/subscription.js";
import type { FrameFormat } from "../wire/frame.js";

/**
 * The body of a fetch-standard event stream: a pull-based `ReadableStream`
 * that one {@link FetchStream} drains `client` into, so backpressure works as
 * on `node:http`. Aborting `signal` or cancelling the body makes `client`
 * leave; `idle` is told whenever everything queued was handed over. The one
 * fetch transport of `fetchHandler` and `fetchStreamHandler`. @internal
 */
export function eventBody(
  client: Subscription,
  timing: StreamTiming,
  signal: AbortSignal,
  options: { format?: FrameFormat; idle?: () => void } = {},
): ReadableStream<Uint8Array> {
  const onAbort = (): void => client.leave();
  let events: FetchStream | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        events = new FetchStream(client, controller, timing, options, () =>
          signal.removeEventListener("abort", onAbort),
        );
        events.start();
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

/** An {@link EventStream} whose transport is a `ReadableStream`'s controller. */
class FetchStream extends EventStream {
  constructor(
    client: Subscription,
    private readonly controller: ReadableStreamDefaultController<Uint8Array>,
    timing: StreamTiming,
    private readonly options: { format?: FrameFormat; idle?: () => void },
    private readonly unlisten: () => void,
  ) {
    super(client, timing, DEFAULT_WRITE_BUDGET, options.format);
  }

  protected send(chunk: Uint8Array): boolean {
    this.controller.enqueue(chunk);
    return (this.controller.desiredSize ?? 0) > 0;
  }

  protected override idle(): void {
    this.options.idle?.();
  }

  protected finish(): void {
    this.unlisten();
    try {
      this.controller.close();
    } catch {
      // already closed or errored by the consumer: nothing to end
    }
  }
}
