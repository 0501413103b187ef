import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { type RunningDemo, type StartOptions, startDemo } from "./start.js";

// Test support: the demo in-process, the way every test file starts it, and
// what the browser tests record in a page.

/**
 * Starts the demo with `options`, reading no `burrow.toml` and an empty
 * environment unless `options` says otherwise; `--help` is an error here.
 */
export async function startRunning(options: StartOptions): Promise<RunningDemo> {
  const result = await startDemo({ env: {}, configFile: null, ...options });
  if (result.help !== undefined) throw new Error("unexpected --help");
  return result;
}

/** One SSE message a page received, as its htmx extension reported it. */
export interface SeenMessage {
  /** The id of the element the stream belongs to, else its tag name (`form`). */
  target: string;
  /** The event's name; `""` for an unnamed message (htmx 4 swaps only those). */
  type: string;
  data: string;
}

declare global {
  interface Window {
    /** Streams of `sse-connect` / `hx-sse:connect` elements opened (reconnects included). */
    sseOpens: number;
    sseMessages: SeenMessage[];
    /** `htmx:evalDisallowedError` events (htmx 2): code htmx refused to evaluate. */
    evalRefusals: number;
    /** `<directive> <blocked URI>` of every Content-Security-Policy violation the page reported. */
    cspViolations: string[];
  }
}

/**
 * An init script (`context.addInitScript(recordStreams)`) recording, before
 * htmx loads, what the page's streams do, with htmx 2's extension
 * (`htmx:sseOpen`, `htmx:sseMessage`) or htmx 4's (`htmx:sse:after:connection`,
 * `htmx:sse:after:message`), and what the page refused to run.
 */
export function recordStreams(): void {
  window.sseOpens = 0;
  window.sseMessages = [];
  window.evalRefusals = 0;
  window.cspViolations = [];
  const name = (el: Element) => el.id || el.tagName.toLowerCase();
  const opened = (e: Event) => {
    const el = e.target as Element;
    if (el.hasAttribute("sse-connect") || el.hasAttribute("hx-sse:connect")) window.sseOpens++;
  };
  document.addEventListener("htmx:sseOpen", opened);
  document.addEventListener("htmx:sse:after:connection", opened);
  document.addEventListener("htmx:sseMessage", (e) => {
    const event = (e as CustomEvent<MessageEvent>).detail;
    window.sseMessages.push({
      target: name(e.target as Element),
      type: event.type,
      data: String(event.data),
    });
  });
  document.addEventListener("htmx:sse:after:message", (e) => {
    const { message } = (e as CustomEvent<{ message: { event: string; data: string } }>).detail;
    window.sseMessages.push({
      target: name(e.target as Element),
      type: message.event,
      data: message.data,
    });
  });
  document.addEventListener("htmx:evalDisallowedError", () => {
    window.evalRefusals++;
  });
  document.addEventListener("securitypolicyviolation", (e) => {
    window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
}

/** The streams the demo's server was asked for, recorded by {@link trackStreams}. */
export interface StreamRequest {
  method: string;
  url: string;
  user: string | undefined;
  lastEventId: string | undefined;
  socket: Socket;
}

/**
 * Records every request whose path starts with one of `prefixes` that
 * `demo`'s server receives, until the returned function is called.
 */
export function trackStreams(
  demo: RunningDemo,
  prefixes: readonly string[],
  into: StreamRequest[],
): () => void {
  const track = (req: IncomingMessage) => {
    const url = req.url ?? "";
    if (!prefixes.some((prefix) => url.startsWith(prefix))) return;
    into.push({
      method: req.method ?? "",
      url,
      user: /(?:^|;\s*)user=(\w+)/.exec(req.headers.cookie ?? "")?.[1],
      lastEventId: req.headers["last-event-id"] as string | undefined,
      socket: req.socket,
    });
  };
  demo.server.on("request", track);
  return () => demo.server.off("request", track);
}
