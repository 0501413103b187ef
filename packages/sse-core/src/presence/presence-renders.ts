import type { PresenceMember } from "../backplane/backplane-presence.js";
import type { SSEEvent } from "../wire/encode.js";
import type { ResolvedPresenceOptions } from "./presence-options.js";

/** The changes of one topic not rendered yet, and its pace. */
interface Pending {
  joined: Map<string, PresenceMember>;
  left: Map<string, PresenceMember>;
  /** Every process's members as the backplane last told; undefined: this process's, read at render time. */
  members: PresenceMember[] | undefined;
  /** A render is queued for the end of this tick. */
  queued: boolean;
  /** Runs for `renderIntervalMs` after a render: changes meanwhile wait for its end. */
  cooldown: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Renders each topic's presence at most once per `renderIntervalMs`: the
 * first change after a quiet spell at the end of its tick, the changes
 * during the interval that follows together at its end (so the latest list
 * is always published). A member that joins and leaves between two renders
 * was never seen: neither is said. Internal.
 */
export class PresenceRenders {
  private readonly pending = new Map<string, Pending>();

  /**
   * @param local - this process's members of a topic now (when no backplane tells every process's).
   * @param publish - publishes a rendered change on the presence topic.
   */
  constructor(
    private readonly options: ResolvedPresenceOptions,
    private readonly local: (topic: string) => PresenceMember[],
    private readonly publish: (topic: string, event: SSEEvent) => void,
  ) {}

  /**
   * `joined` and `left` changed `topic`; `members`, when a backplane gave it,
   * is every process's members now.
   */
  changed(
    topic: string,
    joined: readonly PresenceMember[],
    left: readonly PresenceMember[],
    members?: PresenceMember[],
  ): void {
    if (this.options.render === undefined) return;
    let state = this.pending.get(topic);
    if (state === undefined) {
      state = {
        joined: new Map(),
        left: new Map(),
        members: undefined,
        queued: false,
        cooldown: undefined,
      };
      this.pending.set(topic, state);
    }
    for (const member of joined) state.joined.set(member.id, member);
    for (const member of left) {
      if (!state.joined.delete(member.id)) state.left.set(member.id, member);
    }
    if (members !== undefined) state.members = members;
    if (state.cooldown !== undefined) {
      // A change waits for the cooldown's end: the process stays up until it is published.
      state.cooldown.ref?.();
      return;
    }
    if (state.queued) return;
    state.queued = true;
    queueMicrotask(() => {
      state.queued = false;
      if (this.pending.get(topic) === state) this.flush(topic, state);
    });
  }

  /** Forgets every pending change, rendering nothing (the broker closed). */
  clear(): void {
    for (const state of this.pending.values()) clearTimeout(state.cooldown);
    this.pending.clear();
  }

  /** Renders what `topic` has pending, if anything, then cools down; else forgets the topic. */
  private flush(topic: string, state: Pending): void {
    if (state.joined.size === 0 && state.left.size === 0) {
      this.pending.delete(topic);
      return;
    }
    let members = state.members;
    let joined: PresenceMember[];
    if (members === undefined) {
      // This process's members, read now: the joined as they are now (a second tab counted).
      members = this.local(topic);
      const ids = state.joined;
      joined = members.filter((member) => ids.has(member.id));
    } else {
      joined = [...state.joined.values()];
    }
    const left = [...state.left.values()];
    state.joined = new Map();
    state.left = new Map();
    state.members = undefined;
    this.render(topic, joined, left, members);
    const interval = this.options.renderIntervalMs;
    if (interval === 0) {
      this.pending.delete(topic);
      return;
    }
    state.cooldown = setTimeout(() => {
      state.cooldown = undefined;
      this.flush(topic, state);
    }, interval);
    // Nothing pending yet: a quiet topic does not hold the process up.
    state.cooldown.unref?.();
  }

  private render(
    topic: string,
    joined: PresenceMember[],
    left: PresenceMember[],
    members: PresenceMember[],
  ): void {
    try {
      const event = this.options.render!({ topic, joined, left, members });
      if (event === undefined) return;
      this.publish(
        this.options.prefix + topic,
        typeof event === "string" ? { data: event } : event,
      );
    } catch (error) {
      console.error(`sse: presence.render failed for topic ${JSON.stringify(topic)}:`, error);
    }
  }
}
