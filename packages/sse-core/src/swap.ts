import { encodeValid } from "./encode.js";
import { SSEOptionError } from "./errors.js";
import { type Frame, type FrameFormat, toBytes } from "./frame.js";

/**
 * Where htmx 4 swaps one topic's events: a CSS selector (`"#notes"`, swapped
 * with the target's default `innerHTML`), or a selector and a swap style
 * (`{ target: "#notes", swap: "beforeend" }`).
 */
export type SwapTarget = string | { readonly target: string; readonly swap?: string };

/**
 * The `swap` handler option: which events a stream sends as htmx 4's
 * `hx-sse` swaps them (unnamed messages). See {@link HandlerOptions.swap}.
 */
export type SwapOption = true | Readonly<Record<string, SwapTarget>>;

const ESCAPES: Record<string, string> = { "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" };

/** `text` safe inside a double-quoted HTML attribute. */
function attribute(text: string): string {
  return text.replace(/[&"<>]/g, (c) => ESCAPES[c]!);
}

function checkTarget(where: string, target: SwapTarget): { target: string; swap?: string } {
  const spec = typeof target === "string" ? { target } : target;
  if (typeof spec !== "object" || spec === null) {
    throw new SSEOptionError(where, "must be a CSS selector or { target, swap }", target);
  }
  if (typeof spec.target !== "string" || spec.target.trim() === "") {
    throw new SSEOptionError(
      `${where}.target`,
      'must be a non-empty CSS selector, e.g. "#notes"',
      spec.target,
    );
  }
  if (spec.swap !== undefined && (typeof spec.swap !== "string" || spec.swap.trim() === "")) {
    throw new SSEOptionError(
      `${where}.swap`,
      'must be an hx-swap value such as "beforeend", or left out',
      spec.swap,
    );
  }
  return spec;
}

/** The opening tag of an `<hx-partial>` for `target`, its attributes escaped. */
function openTag(where: string, target: SwapTarget): string {
  const spec = checkTarget(where, target);
  const swap = spec.swap === undefined ? "" : ` hx-swap="${attribute(spec.swap)}"`;
  return `<hx-partial hx-target="${attribute(spec.target)}"${swap}>`;
}

/**
 * Wraps an HTML fragment in htmx 4's `<hx-partial>`, so that an unnamed
 * message swaps it into `target` instead of the stream element's own target;
 * one message may hold several partials, one per target. The selector and
 * swap style are attribute-escaped; the fragment is your HTML, as it is.
 *
 * @example
 * ```ts
 * broker.publish("dashboard", {
 *   data: hxPartial("<li>Build passed</li>", { target: "#log", swap: "beforeend" }) +
 *     hxPartial("<span>3</span>", "#count"),
 * });
 * ```
 */
export function hxPartial(html: string, target: SwapTarget): string {
  return `${openTag("target", target)}${html}</hx-partial>`;
}

/** An unnamed message, its data as published. */
const PLAIN = { prefix: "", suffix: "" };

/**
 * A stream's htmx 4 format: an event whose type is its topic (the default
 * type) goes out as an unnamed message, wrapped in `<hx-partial>` when its
 * topic has a target; any other event stays named. Resolved once per handler.
 * @internal
 */
export class SwapFormat implements FrameFormat {
  private readonly wraps = new Map<string, { prefix: string; suffix: string }>();

  constructor(option: SwapOption) {
    if (option === true) return;
    if (typeof option !== "object" || option === null || Array.isArray(option)) {
      throw new SSEOptionError(
        "swap",
        "must be true or a map of topic to target, e.g. { notes: '#notes' }",
        option,
      );
    }
    for (const [topic, target] of Object.entries(option)) {
      this.wraps.set(topic, { prefix: openTag(`swap.${topic}`, target), suffix: "</hx-partial>" });
    }
  }

  bytes(frame: Frame): Uint8Array {
    const { event, topic } = frame;
    if (event.type !== topic) return frame.chunk;
    const wrap = this.wraps.get(topic) ?? PLAIN;
    let variants = frame.variants;
    const known = variants?.get(wrap);
    if (known !== undefined) return known;
    const data = wrap === PLAIN ? event.data : `${wrap.prefix}${event.data ?? ""}${wrap.suffix}`;
    const bytes = toBytes(encodeValid({ id: event.id, retry: event.retry, data }));
    if (variants === undefined) {
      variants = new Map();
      frame.variants = variants;
    }
    variants.set(wrap, bytes);
    return bytes;
  }
}
