import type { PresenceMember } from "../backplane/backplane-presence.js";
import { SSEOptionError } from "../base/errors.js";
import {
  callbackOption,
  capOption,
  checkKeys,
  numberOption,
  optionKeys,
} from "../base/option-checks.js";
import type { SSEEvent } from "../wire/encode.js";

/** Who a connection is, as a handler's `presence` option tells it from the request. */
export interface PresenceIdentity {
  /** The member's id (e.g. a user id): one member with three tabs is one member with three connections. */
  id: string;
  /**
   * Public data shown to everyone allowed on the topic (e.g. `{ name: "Alice" }`);
   * JSON-serializable, without cycles, its JSON at most the broker's
   * `presence.maxMemberDataBytes`. A newer connection's data replaces an older one's.
   */
  data?: unknown;
}

/** What changed on a topic: what a presence `render` turns into an event. */
export interface PresenceChange {
  /** The topic whose members changed. */
  readonly topic: string;
  /** Members that arrived since the last change published. */
  readonly joined: readonly PresenceMember[];
  /** Members that left since then (their last connection closed `debounceMs` before, and none came back). */
  readonly left: readonly PresenceMember[];
  /** Every member now, in order of arrival. */
  readonly members: readonly PresenceMember[];
}

/** The `presence` option of a broker: where joins and leaves are published, and how. */
export interface PresenceOptions {
  /**
   * Renders a change into the event published on `prefix + topic` (a string
   * is the event's `data`); undefined publishes nothing for that change.
   * Called at most once per topic per `renderIntervalMs`, with every join and
   * leave since the previous call. Unset, no presence event is published
   * (members are still tracked, for {@link EventBroker.members}).
   * @default undefined
   */
  render?: (change: PresenceChange) => SSEEvent | string | undefined;
  /**
   * Prefix of the topic on which a topic's changes are published: the
   * changes of `project-1` go to `presence:project-1`. A handler admits a
   * request for `presence:project-1` only if `authorize` also allows
   * `project-1`, so a topic's presence is visible only to clients allowed on
   * it. These topics are state topics (only the latest member list matters):
   * a slow client's queued lists collapse to the newest, and a client that
   * missed some gets the latest; unless the broker's `topics` option names
   * `prefix + "*"` itself.
   * @default "presence:"
   */
  prefix?: string;
  /**
   * How long a member whose last connection closed stays listed before it
   * leaves, in milliseconds: a reload (leave, then join within this time)
   * publishes nothing.
   * @default 1000
   */
  debounceMs?: number;
  /**
   * The shortest time between two renders of one topic's presence, in
   * milliseconds: the first change after a quiet spell is rendered at the
   * end of its tick; changes during the following `renderIntervalMs` are
   * rendered together once it ends, so the latest list is always published.
   * Bounds the cost of a crowd joining: 2,000 joins render the list about
   * once per interval, not 2,000 times. 0 renders each tick's changes at once.
   * @default 250
   */
  renderIntervalMs?: number;
  /**
   * The largest JSON of a member's `data`, in UTF-8 bytes: a handler's
   * `presence` function (or `subscribe`'s `member`) giving more is a bug,
   * refused with an {@link SSEOptionError} naming `presence.data` (or
   * `member.data`), as is data with a cycle. 0 means no cap (cycles are
   * still refused).
   * @default 4096
   */
  maxMemberDataBytes?: number;
}

/** Default of {@link PresenceOptions.prefix}. */
export const DEFAULT_PRESENCE_PREFIX = "presence:";
/** Default of {@link PresenceOptions.debounceMs}. */
export const DEFAULT_PRESENCE_DEBOUNCE_MS = 1000;
/** Default of {@link PresenceOptions.renderIntervalMs}. */
export const DEFAULT_PRESENCE_RENDER_INTERVAL_MS = 250;
/** Default of {@link PresenceOptions.maxMemberDataBytes}. */
export const DEFAULT_MAX_MEMBER_DATA_BYTES = 4096;

/** A broker's presence options, checked and resolved. @internal */
export interface ResolvedPresenceOptions {
  readonly render: PresenceOptions["render"];
  readonly prefix: string;
  readonly debounceMs: number;
  readonly renderIntervalMs: number;
  /** `Infinity` when uncapped. */
  readonly maxMemberDataBytes: number;
}

const PRESENCE_OPTION_KEYS: readonly string[] = optionKeys<PresenceOptions>()([
  "render",
  "prefix",
  "debounceMs",
  "renderIntervalMs",
  "maxMemberDataBytes",
]);

/**
 * Checks and resolves a broker's `presence` option (left out: the defaults,
 * members tracked and nothing published). Throws {@link SSEOptionError}
 * naming the field (`presence.renderIntervalMs`) for anything that cannot work. @internal
 */
export function resolvePresenceOptions(options: unknown = {}): ResolvedPresenceOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new SSEOptionError("presence", "must be an object of presence options", options);
  }
  checkKeys(options, PRESENCE_OPTION_KEYS, "a presence option");
  const given = options as PresenceOptions;
  const prefix = given.prefix ?? DEFAULT_PRESENCE_PREFIX;
  if (typeof prefix !== "string" || prefix.length === 0) {
    throw new SSEOptionError("presence.prefix", "must be a non-empty string", prefix);
  }
  callbackOption("presence.render", given.render, "(change) => event");
  const interval = { min: 0, infinity: false };
  return Object.freeze({
    render: given.render,
    prefix,
    debounceMs: numberOption("presence.debounceMs", given.debounceMs, {
      ...interval,
      fallback: DEFAULT_PRESENCE_DEBOUNCE_MS,
    }),
    renderIntervalMs: numberOption("presence.renderIntervalMs", given.renderIntervalMs, {
      ...interval,
      fallback: DEFAULT_PRESENCE_RENDER_INTERVAL_MS,
    }),
    maxMemberDataBytes: capOption(
      "presence.maxMemberDataBytes",
      given.maxMemberDataBytes,
      DEFAULT_MAX_MEMBER_DATA_BYTES,
    ),
  });
}

/** Throws {@link SSEOptionError} unless a handler's `presence` option is a function or unset. @internal */
export function checkPresenceOption(presence: unknown): void {
  if (presence !== undefined && typeof presence !== "function") {
    throw new SSEOptionError(
      "presence",
      "must be a function (req) => ({ id, data? }) or undefined",
      presence,
    );
  }
}

/**
 * Checks an identity: what a handler's `presence` function returned (`where`
 * `"presence"`), or `subscribe`'s `member` option (`"member"`). A bad one is
 * the app's bug, an {@link SSEOptionError} naming `where` (or `where.data`):
 * an id that is not a string of 1 to 256 characters, data with a cycle, that
 * JSON cannot carry, or whose JSON is over `maxDataBytes`. @internal
 */
export function checkIdentity(
  identity: unknown,
  where: "presence" | "member",
  maxDataBytes: number,
): PresenceIdentity | undefined {
  if (identity === undefined || identity === null) return undefined;
  const id = (identity as PresenceIdentity).id;
  if (
    typeof identity !== "object" ||
    typeof id !== "string" ||
    id.length === 0 ||
    id.length > 256
  ) {
    throw new SSEOptionError(
      where,
      `${where === "presence" ? "must return" : "must be"} undefined or { id, data? } with id a string of 1 to 256 characters`,
      identity,
    );
  }
  const data = (identity as PresenceIdentity).data;
  if (data !== undefined) checkData(data, `${where}.data`, maxDataBytes);
  return identity as PresenceIdentity;
}

/** Throws unless `data` is JSON of at most `max` UTF-8 bytes (what every page and backplane is sent). */
function checkData(data: unknown, field: string, max: number): void {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    // A cycle (or a BigInt, or a throwing toJSON): nothing a page or a backplane could be sent.
    throw new SSEOptionError(field, "must be JSON-serializable data without cycles", data, {
      cause: error,
    });
  }
  if (json === undefined) {
    throw new SSEOptionError(field, "must be JSON-serializable data", data);
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes, and at least 1: count exactly only when it could matter.
  if (json.length * 3 <= max) return;
  const bytes = json.length > max ? undefined : utf8Length(json);
  if (bytes !== undefined && bytes <= max) return;
  throw new SSEOptionError(
    field,
    `must be at most ${max} bytes of JSON (presence.maxMemberDataBytes): it is sent to every watcher on every change`,
    data,
    {
      hint:
        bytes === undefined
          ? `its JSON is ${json.length} characters`
          : `its JSON is ${bytes} bytes`,
    },
  );
}

/** The UTF-8 length of `text` (a lone surrogate counts as the 3 bytes of U+FFFD). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
