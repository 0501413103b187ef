import { warn } from "../base/warn.js";
import { SwapFormat, type SwapOption } from "../wire/swap.js";
import { listed } from "../wire/swap-keys.js";

/**
 * A handler's `swap` option, resolved once: the format every stream is sent
 * in, or, without the option, the one a request from htmx gets. @internal
 */
export interface SwapPlan {
  /** An explicit `swap` (true or a map): every stream's format. Undefined without one, or with `false`. */
  readonly format: SwapFormat | undefined;
  /**
   * Without `swap`: the format (`swap: true`'s) of a request htmx sent,
   * which names itself with the `HX-Request` header; htmx 2's
   * `EventSource` cannot send that header and gets named events. Undefined
   * when `swap` is given (`false` included).
   */
  readonly htmxFormat: SwapFormat | undefined;
}

/**
 * Resolves a handler's `swap` option (checked: an `SSEOptionError` for one
 * that cannot work). @internal
 */
export function swapPlanOf(swap: SwapOption | false | undefined): SwapPlan {
  if (swap === undefined) return { format: undefined, htmxFormat: new SwapFormat(true) };
  return { format: swap === false ? undefined : new SwapFormat(swap), htmxFormat: undefined };
}

/** Detecting handlers that warned about a stream of several topics. */
const warned = new WeakSet<SwapFormat>();

/** `topics` as a swap map that gives each a target, as a message shows it. */
function mapFor(topics: readonly string[]): string {
  const entries = topics.slice(0, 3).map((topic) => {
    const id = topic.replace(/[^A-Za-z0-9_-]+/g, "-");
    return `${/^[A-Za-z_$][\w$]*$/.test(topic) ? topic : JSON.stringify(topic)}: "#${id}"`;
  });
  return `{ ${entries.join(", ")}${topics.length > 3 ? ", …" : ""} }`;
}

/**
 * The format of one request's stream: the explicit `swap` one; else, for a
 * request htmx sent (`htmx`, its `HX-Request` header: htmx 4's
 * `hx-sse:connect`), the detected one, whose events of several `topics` all
 * swap into the stream element's own target (a process warning says so and
 * names the fix, once per handler); else none (named events). @internal
 */
export function formatFor(
  plan: SwapPlan,
  htmx: boolean,
  topics: readonly string[],
): SwapFormat | undefined {
  const detected = plan.htmxFormat;
  if (detected === undefined || !htmx) return plan.format;
  if (topics.length > 1 && !warned.has(detected)) {
    warned.add(detected);
    warn(
      `sse: swap: an htmx 4 stream of topics ${listed(topics)}, from a handler without the ` +
        "swap option: their events go out unnamed, as htmx 4 swaps them, all into the " +
        "hx-sse:connect element's own target. To give each topic its own target: " +
        `swap: ${mapFor(topics)} (a handler with swap sends htmx 4 messages to every client: ` +
        "serve htmx 2 pages from one without it), or swap: true if they share that target on " +
        "purpose. (Warned once per handler.)",
      "SSE_SWAP_NO_TARGET",
    );
  }
  return detected;
}
