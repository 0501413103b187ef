import { encodeValid } from "./encode.js";
import { type Frame, toBytes } from "./frame.js";
import { hxPartial } from "./swap.js";
import type { TopicRule } from "./topic-policy.js";

/**
 * The frame of a snapshot of `topic`: `html` replaces the content of the
 * element `target` names, whatever swap the region's live events use. Its
 * data is `<hx-partial hx-target="<target>" hx-swap="innerHTML">html</hx-partial>`,
 * which both htmx versions swap: htmx 2 (2.0.11, `htmx-ext-sse`) from the
 * topic's named event on the region's `sse-swap` element, htmx 4 from an
 * unnamed message (a handler's `swap` format sends it unwrapped, never
 * inside the topic's own `<hx-partial>`). Throws an {@link SSEFieldError}
 * (field `"data"`) for HTML holding an end tag that would close it early.
 * @internal
 */
export function snapshotFrame(topic: string, html: string, target: string, rule: TopicRule): Frame {
  const event = Object.freeze({
    type: topic,
    data: hxPartial(html, { target, swap: "innerHTML" }),
  });
  return { event, chunk: toBytes(encodeValid(event)), seq: 0, topic, rule, replaces: target };
}
