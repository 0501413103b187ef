import { SSEOptionError } from "../base/errors.js";
import { capOption, optionKeys } from "../base/option-checks.js";
import { DEFAULT_TOPIC_LIMITS } from "../wire/topic-limits.js";

/** Limits every handler enforces before it subscribes anyone. */
export interface Limits {
  /**
   * Clients the broker may hold at once; past it, new streams are answered
   * 503 with `Retry-After`. 0 (or `Infinity`) means no cap: for every
   * numeric option, 0 turns its feature off.
   * @default 10000
   */
  maxClients?: number;
  /**
   * Streams one client address may hold at once; past it, 429. 0 (or
   * `Infinity`) means no cap. Behind a proxy every client shares its
   * address: leave it off there, or cap at the proxy.
   * @default 0 (no cap)
   */
  maxClientsPerAddress?: number;
  /**
   * Topics one stream may watch; more is answered 400. 0 (or `Infinity`)
   * means no cap.
   * @default 32
   */
  maxTopics?: number;
  /**
   * Characters of a topic name; longer is answered 400. 0 (or `Infinity`)
   * means no cap.
   * @default 128
   */
  maxTopicLength?: number;
  /**
   * What a topic name may hold; anything else is answered 400. The default
   * allows any printable character except white space (no control, format or
   * private-use characters).
   * @default /^[^\p{C}\s]+$/u
   */
  topicPattern?: RegExp;
  /**
   * Characters of a `Last-Event-ID` (header or query); longer is answered
   * 400. 0 (or `Infinity`) means no cap.
   * @default 256
   */
  maxLastEventIdLength?: number;
}

/** The defaults of {@link Limits}: safe for a public site. */
export const DEFAULT_LIMITS: Readonly<Required<Limits>> = Object.freeze({
  maxClients: 10_000,
  maxClientsPerAddress: 0,
  ...DEFAULT_TOPIC_LIMITS,
});

/** The caps of {@link Limits}: 0 means no cap. @internal */
export const CAP_KEYS = [
  "maxClients",
  "maxClientsPerAddress",
  "maxTopics",
  "maxTopicLength",
  "maxLastEventIdLength",
] as const satisfies readonly (keyof Limits)[];

/** Every key of {@link Limits} (a key missing here, or not a limit, fails to compile). @internal */
export const LIMIT_KEYS = optionKeys<Limits>()([...CAP_KEYS, "topicPattern"]);

/**
 * Merges `limits` over the defaults, refusing values that cannot work with
 * an {@link SSEOptionError}. A cap of 0 (or `Infinity`) resolves to
 * `Infinity`: no cap. @internal
 */
export function resolveLimits(limits: Limits): Required<Limits> {
  const out: Required<Limits> = { ...DEFAULT_LIMITS };
  for (const key of CAP_KEYS) out[key] = capOption(key, limits[key], DEFAULT_LIMITS[key]);
  const pattern: unknown = limits.topicPattern;
  if (pattern !== undefined) {
    if (!(pattern instanceof RegExp)) {
      throw new SSEOptionError("topicPattern", "must be a RegExp, e.g. /^[\\w:.-]+$/", pattern);
    }
    out.topicPattern = pattern;
  }
  return out;
}
