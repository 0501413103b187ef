import type { EventBroker } from "./broker.js";
import { SSEError } from "./errors.js";

/** Limits every handler enforces before it subscribes anyone. */
export interface Limits {
  /**
   * Clients the broker may hold at once; past it, new streams are answered
   * 503 with `Retry-After`.
   * @default 10000
   */
  maxClients?: number;
  /**
   * Streams one client address may hold at once (0: no cap). Behind a proxy
   * every client shares its address: leave it off there, or cap at the proxy.
   * @default 0
   */
  maxClientsPerAddress?: number;
  /**
   * Topics one stream may watch; more is answered 400.
   * @default 32
   */
  maxTopics?: number;
  /**
   * Characters of a topic name; longer is answered 400.
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
   * Characters of a `Last-Event-ID` (header or query); longer is answered 400.
   * @default 256
   */
  maxLastEventIdLength?: number;
}

/** The defaults of {@link Limits}: safe for a public site. */
export const DEFAULT_LIMITS: Readonly<Required<Limits>> = Object.freeze({
  maxClients: 10_000,
  maxClientsPerAddress: 0,
  maxTopics: 32,
  maxTopicLength: 128,
  topicPattern: /^[^\p{C}\s]+$/u,
  maxLastEventIdLength: 256,
});

/** Merges `limits` over the defaults, rejecting nonsense values. @internal */
export function resolveLimits(limits: Limits): Required<Limits> {
  const out = { ...DEFAULT_LIMITS, ...stripUndefined(limits) };
  for (const key of [
    "maxClients",
    "maxClientsPerAddress",
    "maxTopics",
    "maxTopicLength",
    "maxLastEventIdLength",
  ] as const) {
    const value = out[key];
    if (!(value === Number.POSITIVE_INFINITY || (Number.isSafeInteger(value) && value >= 0))) {
      throw new RangeError(`sse: ${key}: must be a non-negative integer or Infinity, got ${value}`);
    }
  }
  if (!(out.topicPattern instanceof RegExp)) {
    throw new TypeError("sse: topicPattern: must be a RegExp");
  }
  return out;
}

function stripUndefined(limits: Limits): Limits {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(limits)) if (value !== undefined) out[key] = value;
  return out as Limits;
}

/** Shows at most 40 characters of hostile input in a message. */
function preview(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}

/**
 * Throws a 400 {@link SSEError} naming the problem unless `topics` respect
 * `limits`. @internal
 */
export function checkTopicLimits(topics: readonly string[], limits: Required<Limits>): void {
  if (topics.length > limits.maxTopics) {
    throw new SSEError(`sse: too many topics: ${topics.length} (at most ${limits.maxTopics})`, 400);
  }
  for (const topic of topics) {
    if (topic.length > limits.maxTopicLength) {
      throw new SSEError(
        `sse: topic too long: ${topic.length} characters (at most ${limits.maxTopicLength})`,
        400,
      );
    }
    limits.topicPattern.lastIndex = 0;
    if (!limits.topicPattern.test(topic)) {
      throw new SSEError(`sse: topic ${preview(topic)} has characters that are not allowed`, 400);
    }
  }
}

/** Throws a 400 {@link SSEError} for an oversized `Last-Event-ID`. @internal */
export function checkLastEventId(id: string | undefined, limits: Required<Limits>): void {
  if (id !== undefined && id.length > limits.maxLastEventIdLength) {
    throw new SSEError(
      `sse: Last-Event-ID too long: ${id.length} characters (at most ${limits.maxLastEventIdLength})`,
      400,
    );
  }
}

// Open streams per client address, per broker.
const perAddress = new WeakMap<EventBroker, Map<string, number>>();

/**
 * Admits one more stream on `broker` from `address`, or throws 503 (broker
 * full, with `retryAfter`) or 429 (address over its cap). Returns the release
 * function to call when the stream ends. @internal
 */
export function admit(
  broker: EventBroker,
  address: string | undefined,
  limits: Required<Limits>,
): () => void {
  if (broker.stats().clients >= limits.maxClients) {
    throw new SSEError("sse: too many clients", 503, { headers: { "Retry-After": "5" } });
  }
  if (limits.maxClientsPerAddress === 0 || address === undefined) return noop;
  let counts = perAddress.get(broker);
  if (counts === undefined) {
    counts = new Map();
    perAddress.set(broker, counts);
  }
  const open = counts.get(address) ?? 0;
  if (open >= limits.maxClientsPerAddress) {
    throw new SSEError(
      `sse: too many streams from this address (at most ${limits.maxClientsPerAddress})`,
      429,
    );
  }
  counts.set(address, open + 1);
  const table = counts;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const now = (table.get(address) ?? 1) - 1;
    if (now === 0) table.delete(address);
    else table.set(address, now);
  };
}

function noop(): void {}
