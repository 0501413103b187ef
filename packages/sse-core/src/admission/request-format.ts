import { SSEOptionError } from "../base/errors.js";
import { warn } from "../base/warn.js";
import { SwapFormat, type SwapOption } from "../wire/swap.js";
import { listed } from "../wire/swap-keys.js";

/**
 * A handler's `swap` and `swapEveryRequest` options, resolved once: the
 * format of a request htmx sent, and of any other. @internal
 */
export interface SwapPlan {
  /**
   * The format of a request htmx sent, which names itself with the
   * `HX-Request` header (htmx 4's `hx-sse:connect`; htmx 2's `EventSource`
   * cannot send it): `swap`'s, or `swap: true`'s without the option.
   * Undefined with `swap: false` (named events).
   */
  readonly htmxFormat: SwapFormat | undefined;
  /**
   * The format of any other request: undefined (named events, for
   * `EventSource` and `sse-swap`), or {@link htmxFormat} with
   * `swapEveryRequest: true`.
   */
  readonly otherFormat: SwapFormat | undefined;
  /** Whether `swap` was given (true or a map): its streams of several topics swap as it says. */
  readonly explicit: boolean;
}

/**
 * Resolves a handler's `swap` and `swapEveryRequest` options (checked: an
 * `SSEOptionError` for a `swap` that cannot work, or `swapEveryRequest`
 * with `swap: false`). @internal
 */
export function swapPlanOf(
  swap: SwapOption | false | undefined,
  everyRequest: boolean | undefined = false,
): SwapPlan {
  if (everyRequest !== true && everyRequest !== false) {
    throw new SSEOptionError("swapEveryRequest", "must be true or false", everyRequest);
  }
  if (swap === false && everyRequest) {
    throw new SSEOptionError(
      "swapEveryRequest",
      "sends htmx 4's messages to every request, but swap: false names every event",
      everyRequest,
      { hint: "remove one of the two options" },
    );
  }
  const htmxFormat = swap === false ? undefined : new SwapFormat(swap ?? true);
  return {
    htmxFormat,
    otherFormat: everyRequest ? htmxFormat : undefined,
    explicit: swap !== undefined && swap !== false,
  };
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
 * The format of one request's stream: for a request htmx sent (`htmx`, its
 * `HX-Request` header), the plan's htmx 4 format, whose events of several
 * `topics` all swap into the stream element's own target when `swap` was
 * not given (a process warning says so and names the fix, once per
 * handler); for any other request, named events (undefined) unless
 * `swapEveryRequest`. @internal
 */
export function formatFor(
  plan: SwapPlan,
  htmx: boolean,
  topics: readonly string[],
): SwapFormat | undefined {
  if (!htmx) return plan.otherFormat;
  const format = plan.htmxFormat;
  if (format !== undefined && !plan.explicit && topics.length > 1 && !warned.has(format)) {
    warned.add(format);
    warn(
      `sse: swap: an htmx 4 stream of topics ${listed(topics)}, from a handler without the ` +
        "swap option: their events go out unnamed, as htmx 4 swaps them, all into the " +
        "hx-sse:connect element's own target. To give each topic its own target: " +
        `swap: ${mapFor(topics)} (htmx 2's EventSource still gets named events from the same ` +
        "handler), or swap: true if they share that target on purpose. (Warned once per handler.)",
      "SSE_SWAP_NO_TARGET",
    );
  }
  return format;
}
