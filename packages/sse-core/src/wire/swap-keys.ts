import { SSEOptionError } from "../base/errors.js";
import { closestName } from "../base/option-checks.js";
import { warn } from "../base/warn.js";
import type { SwapFormat } from "./swap.js";

/** At most this many topics are listed in a message; the rest are counted. */
const LISTED = 6;

/** `topics` as a message lists them: `notes, status`, the rest counted past {@link LISTED}. @internal */
export function listed(topics: readonly string[]): string {
  const shown = topics.slice(0, LISTED).join(", ");
  return topics.length > LISTED ? `${shown} and ${topics.length - LISTED} more` : shown;
}

/**
 * Throws an {@link SSEOptionError} (option `swap.<key>`) for the first key
 * of `format`'s map that none of a handler's static `topics` is: a swap key
 * is a topic name, exactly (no patterns), so such a key wraps nothing and
 * its topic's fragments go elsewhere. Names the closest topic when one is
 * close (`swap: { note: … }` on `notes`), else the topics. At handler
 * creation. @internal
 */
export function checkSwapKeys(format: SwapFormat, topics: readonly string[]): void {
  for (const key of format.keys) {
    if (topics.includes(key)) continue;
    const close = closestName(key, topics);
    throw new SSEOptionError(
      `swap.${key}`,
      `names none of this handler's topics (${listed(topics)})`,
      format.target(key),
      {
        hint:
          close === undefined
            ? "a swap key is one of the handler's topics, exactly as given (no patterns): add the topic, or remove the key"
            : `did you mean \`${close}\`?`,
      },
    );
  }
}

/** Topics a format's memo holds at most (then it starts over). */
const MEMO_MAX = 4096;

/** Per format, the key closest to each topic without a target seen so far (undefined: none is close). */
const closeKeys = new WeakMap<SwapFormat, Map<string, string | undefined>>();
/** Formats that already warned. */
const warned = new WeakSet<SwapFormat>();

/** The key of `format`'s map closest to `topic` (one it has no target for), memoized. */
function closeKey(format: SwapFormat, topic: string): string | undefined {
  let memo = closeKeys.get(format);
  if (memo === undefined) {
    memo = new Map();
    closeKeys.set(format, memo);
  }
  if (memo.has(topic)) return memo.get(topic);
  if (memo.size >= MEMO_MAX) memo.clear();
  const key = closestName(topic, format.keys);
  memo.set(topic, key);
  return key;
}

/**
 * Warns once per handler (its `format`) when one of a stream's `topics`
 * (known only per request, from a topic function) has no target while a key
 * of the swap map that names none of them is close to it (`note` for
 * `notes`, `presence:project:1` for `presence:project:3`): the run-time twin
 * of {@link checkSwapKeys}, a misspelt or missing key. The topic's events
 * still go out, unwrapped, into the stream element's own target. A topic
 * left without a target on purpose (one whose data composes its own
 * `hxPartial`s, or that the element's own target is for) has no such key
 * near it and is not reported. Each topic is compared with the keys once
 * (memoized), so a stream costs a lookup per topic. @internal
 */
export function warnUntargeted(format: SwapFormat, topics: readonly string[]): void {
  if (format.keys.length === 0 || warned.has(format)) return;
  for (const topic of topics) {
    if (format.wraps(topic)) continue;
    const key = closeKey(format, topic);
    if (key === undefined || topics.includes(key)) continue;
    warned.add(format);
    closeKeys.delete(format);
    warn(
      `sse: swap: topic ${JSON.stringify(topic)} has no target in the swap map, which has ` +
        `${JSON.stringify(key)} instead (a misspelt key?): its events go out unwrapped, into the ` +
        "stream element's own target. Key the map by each topic exactly as the topic function " +
        "returns it. (Warned once per handler.)",
      "SSE_SWAP_NO_TARGET",
    );
    return;
  }
}
