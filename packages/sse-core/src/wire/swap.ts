import { SSEFieldError, SSEOptionError } from "../base/errors.js";
import { warn } from "../base/warn.js";
import { encodeValid } from "./encode.js";
import { type Frame, type FrameFormat, toBytes } from "./frame.js";
import type { TopicMap, TopicOf } from "./topics.js";

/**
 * Where htmx 4 swaps one topic's events: a CSS selector (`"#notes"`, swapped
 * with the target's default `innerHTML`), or a selector and a swap style
 * (`{ target: "#notes", swap: "beforeend" }`).
 */
export type SwapTarget = string | { readonly target: string; readonly swap?: string };

/**
 * The `swap` handler option: which events a stream sends as htmx 4's
 * `hx-sse` swaps them (unnamed messages). See {@link HandlerOptions.swap}.
 * `K` narrows the keys of a topic→target map to the handler's topics (a
 * typed broker's); by default any topic name.
 */
export type SwapOption<K extends string = string> =
  | true
  | (string extends K ? Readonly<Record<string, SwapTarget>> : { readonly [P in K]?: SwapTarget });

/**
 * The topics a handler's `swap` map may name: on a typed broker (`T`
 * declares its topics), the handler's topics `K`; on an untyped one, any
 * topic, as before typed topics.
 */
export type SwapKeys<T extends TopicMap, K extends string> = string extends TopicOf<T> ? string : K;

const ESCAPES: Record<string, string> = { "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" };

/** `text` safe inside a double-quoted HTML attribute. @internal */
export function attribute(text: string): string {
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
 * An end tag that would end an `<hx-partial>` early, as htmx 4 reads a
 * message: it rewrites every `</hx-name>` to `</template>` and parses the
 * result as HTML, so `</hx-partial>`, `</hx-oob>` and `</template>` all
 * close it, in any case, and the HTML tokenizer ends a tag name at white
 * space or `/` (`</hx-partial >`, `</template/>`).
 */
const WRAPPER_END = /<\/(?:hx-[a-z]+|template)(?:[\t\n\f\r /][^>]*)?(?:>|$)/i;

/** The end tag in `html` that would close the `<hx-partial>` it is wrapped in (as shown), if any. */
function wrapperEnd(html: string | undefined): string | undefined {
  const end = html === undefined ? undefined : WRAPPER_END.exec(html)?.[0];
  return end !== undefined && end.length > 40 ? `${end.slice(0, 40)}…` : end;
}

/**
 * Throws an {@link SSEFieldError} (field `"data"`) when `html` holds an end
 * tag that would close the `<hx-partial>` it is wrapped in (`wrapper` names
 * it) and let the rest of it swap into any target. @internal
 */
export function checkWrappable(html: string | undefined, wrapper: string): void {
  const end = wrapperEnd(html);
  if (end === undefined) return;
  throw new SSEFieldError(
    "data",
    `holds ${JSON.stringify(end)}, an end tag that would close ${wrapper} early and let the rest swap ` +
      "into any target. Data is HTML the app must escape: escape what it interpolates " +
      "(< as &lt;) before publishing",
    html,
  );
}

/**
 * Wraps an HTML fragment in htmx 4's `<hx-partial>`, so that an unnamed
 * message swaps it into `target` instead of the stream element's own target;
 * one message may hold several partials, one per target. The selector and
 * swap style are attribute-escaped; the fragment is your HTML, as it is:
 * HTML you must escape. A fragment holding an end tag that would close its
 * partial early (`</hx-partial>`, any `</hx-…>`, `</template>`, in any case)
 * throws an {@link SSEFieldError} (field `"data"`).
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
  const open = openTag("target", target);
  checkWrappable(html, "its <hx-partial>");
  return `${open}${html}</hx-partial>`;
}

/** What goes before and after an event's data in a message. */
interface Wrap {
  readonly prefix: string;
  readonly suffix: string;
}

/** An unnamed message, its data as published. */
const PLAIN: Wrap = { prefix: "", suffix: "" };

/**
 * A stream's htmx 4 format: an event whose type is its topic (the default
 * type) goes out as an unnamed message, wrapped in `<hx-partial>` when its
 * topic has a target; any other event stays named. Resolved once per handler.
 *
 * The broker refuses at publish data that would close a wrapper early while
 * a stream wraps its topic ({@link checkWrappable}); such data that reaches
 * a stream anyway (replayed from history published before, or from another
 * process through a backplane) goes out named, which htmx 4 does not swap,
 * and a warning says so once per format.
 * @internal
 */
export class SwapFormat implements FrameFormat {
  private readonly targets = new Map<string, Wrap>();
  private warned = false;
  /** The topics of the map, as given (none for `true`). */
  readonly keys: readonly string[] = [];
  /** The map as given, for messages. */
  private readonly given: Readonly<Record<string, SwapTarget>> = {};

  constructor(option: SwapOption) {
    if (option === true) return;
    if (typeof option !== "object" || option === null || Array.isArray(option)) {
      throw new SSEOptionError(
        "swap",
        "must be true, false or a map of topic to target, e.g. { notes: '#notes' }",
        option,
      );
    }
    for (const [topic, target] of Object.entries(option)) {
      this.targets.set(topic, {
        prefix: openTag(`swap.${topic}`, target),
        suffix: "</hx-partial>",
      });
    }
    this.keys = Object.freeze([...this.targets.keys()]);
    this.given = option;
  }

  /** The target the map gives `topic`, as given. */
  target(topic: string): SwapTarget | undefined {
    return this.targets.has(topic) ? this.given[topic] : undefined;
  }

  /** Whether events of `topic` go out wrapped in an `<hx-partial>`. */
  wraps(topic: string): boolean {
    return this.targets.has(topic);
  }

  bytes(frame: Frame): Uint8Array {
    const { event, topic } = frame;
    if (event.type !== topic) return frame.chunk;
    // A snapshot's data is its own <hx-partial>: never wrapped in the topic's.
    const wrap = frame.replaces === undefined ? (this.targets.get(topic) ?? PLAIN) : PLAIN;
    let variants = frame.variants;
    const known = variants?.get(wrap);
    if (known !== undefined) return known;
    const bytes =
      wrap === PLAIN
        ? toBytes(encodeValid({ id: event.id, retry: event.retry, data: event.data }))
        : this.wrapped(frame, wrap);
    if (variants === undefined) {
      variants = new Map();
      frame.variants = variants;
    }
    variants.set(wrap, bytes);
    return bytes;
  }

  /** `frame` wrapped for its target, or named (not swapped) when its data would escape it. */
  private wrapped(frame: Frame, wrap: Wrap): Uint8Array {
    const { event, topic } = frame;
    const end = wrapperEnd(event.data);
    if (end !== undefined) {
      if (!this.warned) {
        this.warned = true;
        warn(
          `sse: data: an event of topic ${JSON.stringify(topic)} holds ${JSON.stringify(end)}, which would ` +
            "close its <hx-partial> early; it was not refused at publish (published before a " +
            "stream wrapped its topic, or on another process), so it was sent named, which " +
            "htmx 4 does not swap. Data is HTML the app must escape. (Warned once per handler.)",
          "SSE_DATA_UNWRAPPABLE",
        );
      }
      return frame.chunk;
    }
    const data = `${wrap.prefix}${event.data ?? ""}${wrap.suffix}`;
    return toBytes(encodeValid({ id: event.id, retry: event.retry, data }));
  }
}
