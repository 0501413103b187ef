/**
 * Headers of every event stream. `no-transform` keeps compression middleware
 * from buffering it; `X-Accel-Buffering: no` does the same for nginx.
 * `Connection: keep-alive` is added on HTTP/1.x only (HTTP/2 forbids it).
 * @internal
 */
export const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
});
