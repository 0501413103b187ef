import type { PresenceMember } from "../backplane/backplane-presence.js";
import { SSEOptionError } from "../base/errors.js";
import type { SSEEvent } from "../wire/encode.js";

/** Who a connection is, as a handler's `presence` option tells it from the request. */
export interface PresenceIdentity {
  /** The member's id (e.g. a user id): one member with three tabs is one member with three connections. */
  id: string;
  /**
   * Public data shown to everyone allowed on the topic (e.g. `{ name: "Alice" }`);
   * JSON-serializable. A newer connection's data replaces an older one's.
   */
  data?: unknown;
}

/** What changed on a topic: what a presence `render` turns into an event. */
export interface PresenceChange {
  /** The topic whose members changed. */
  readonly topic: string;
  /** Members that arrived since the last change. */
  readonly joined: readonly PresenceMember[];
  /** Members that left (their last connection closed `debounceMs` ago and none came back). */
  readonly left: readonly PresenceMember[];
  /** Every member now, in order of arrival. */
  readonly members: readonly PresenceMember[];
}

/** The `presence` option of a broker: where joins and leaves are published, and how. */
export interface PresenceOptions {
  /**
   * Renders a change into the event published on `prefix + topic` (a string
   * is the event's `data`); undefined publishes nothing for that change.
   * Unset, no presence event is published (members are still tracked, for
   * {@link EventBroker.members}).
   * @default undefined
   */
  render?: (change: PresenceChange) => SSEEvent | string | undefined;
  /**
   * Prefix of the topic on which a topic's changes are published: the
   * changes of `project-1` go to `presence:project-1`. A handler admits a
   * request for `presence:project-1` only if `authorize` also allows
   * `project-1`, so a topic's presence is visible only to clients allowed on it.
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
}

/** Default of {@link PresenceOptions.prefix}. */
export const DEFAULT_PRESENCE_PREFIX = "presence:";
/** Default of {@link PresenceOptions.debounceMs}. */
export const DEFAULT_PRESENCE_DEBOUNCE_MS = 1000;

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

/** Checks what a handler's `presence` option returned. @internal */
export function checkIdentity(identity: unknown): PresenceIdentity | undefined {
  if (identity === undefined || identity === null) return undefined;
  const id = (identity as PresenceIdentity).id;
  if (
    typeof identity !== "object" ||
    typeof id !== "string" ||
    id.length === 0 ||
    id.length > 256
  ) {
    throw new TypeError(
      "sse: presence: must return undefined or { id, data? } with id a string of 1 to 256 characters",
    );
  }
  return identity as PresenceIdentity;
}
