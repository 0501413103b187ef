import type {
  BackplanePresence,
  PresenceHost,
  PresenceMember,
} from "../backplane/backplane-presence.js";
import { SSEOptionError } from "../base/errors.js";
import type { Client } from "../delivery/client.js";
import type { SSEEvent } from "../wire/encode.js";
import {
  DEFAULT_PRESENCE_DEBOUNCE_MS,
  DEFAULT_PRESENCE_PREFIX,
  type PresenceIdentity,
  type PresenceOptions,
} from "./presence-options.js";

interface MemberState {
  data: unknown;
  connections: number;
  leaving: ReturnType<typeof setTimeout> | undefined;
}

interface TopicState {
  members: Map<string, MemberState>;
  joined: Map<string, MemberState>;
  flushQueued: boolean;
}

/**
 * The members of each topic of one broker: connections counted per member,
 * leaves debounced, changes rendered and published through `publish`. Internal.
 */
export class Presence {
  readonly prefix: string;
  private readonly debounceMs: number;
  private readonly render: PresenceOptions["render"];
  private readonly topics = new Map<string, TopicState>();
  private readonly identities = new WeakMap<Client, PresenceIdentity>();
  /** Shared with other processes through the backplane, when it can. */
  private store: BackplanePresence | undefined;

  constructor(
    options: PresenceOptions,
    private readonly publish: (topic: string, event: SSEEvent) => void,
  ) {
    if (typeof options !== "object" || options === null) {
      throw new SSEOptionError("presence", "must be an object of presence options", options);
    }
    this.prefix = options.prefix ?? DEFAULT_PRESENCE_PREFIX;
    if (typeof this.prefix !== "string" || this.prefix.length === 0) {
      throw new SSEOptionError("presence.prefix", "must be a non-empty string", this.prefix);
    }
    const debounce = options.debounceMs ?? DEFAULT_PRESENCE_DEBOUNCE_MS;
    if (!Number.isSafeInteger(debounce) || debounce < 0) {
      throw new SSEOptionError("presence.debounceMs", "must be a non-negative integer", debounce);
    }
    this.debounceMs = debounce;
    if (options.render !== undefined && typeof options.render !== "function") {
      throw new SSEOptionError(
        "presence.render",
        "must be a function (change) => event",
        options.render,
      );
    }
    this.render = options.render;
  }

  /** Shares members through `backplane`'s engine. */
  share(backplane: { presence?(host: PresenceHost): BackplanePresence }): void {
    this.store = backplane.presence?.({
      local: () => {
        const out = new Map<string, PresenceMember[]>();
        for (const topic of this.topics.keys()) out.set(topic, this.members(topic));
        return out;
      },
      left: (topic, left, members) => this.emit(topic, [], left, members),
      joined: (topic, joined, members) => this.emit(topic, joined, [], members),
    });
  }

  /** Every process's members of `topic` (this one's when they cannot be read). */
  async shared(topic: string): Promise<PresenceMember[]> {
    return (await this.store?.members(topic)) ?? this.members(topic);
  }

  /** The topic whose presence `topic` carries, if it is a presence topic. */
  sourceOf(topic: string): string | undefined {
    return topic.startsWith(this.prefix) && topic.length > this.prefix.length
      ? topic.slice(this.prefix.length)
      : undefined;
  }

  /** `client`, subscribed as `identity`, joins each of its topics (not presence topics). */
  join(client: Client, identity: PresenceIdentity): void {
    this.identities.set(client, identity);
    for (const topic of client.topics) {
      if (this.sourceOf(topic) !== undefined) continue;
      let state = this.topics.get(topic);
      if (state === undefined) {
        state = { members: new Map(), joined: new Map(), flushQueued: false };
        this.topics.set(topic, state);
      }
      const member = state.members.get(identity.id);
      if (member === undefined) {
        const fresh: MemberState = { data: identity.data, connections: 1, leaving: undefined };
        state.members.set(identity.id, fresh);
        if (this.store !== undefined) {
          void this.announce(topic, view(identity.id, fresh), "join");
          continue;
        }
        state.joined.set(identity.id, fresh);
        this.queueFlush(topic, state);
        continue;
      }
      member.connections++;
      if (identity.data !== undefined) member.data = identity.data;
      if (member.leaving !== undefined) {
        // Back within debounceMs (a reload): the leave never happened.
        clearTimeout(member.leaving);
        member.leaving = undefined;
      }
    }
  }

  /** `client` ended: its member leaves each topic once its last connection is gone for `debounceMs`. */
  leave(client: Client): void {
    const identity = this.identities.get(client);
    if (identity === undefined) return;
    this.identities.delete(client);
    for (const topic of client.topics) {
      const state = this.topics.get(topic);
      const member = state?.members.get(identity.id);
      if (state === undefined || member === undefined) continue;
      member.connections--;
      if (member.connections > 0) continue;
      // Not unref'd: a process keeps running at most debounceMs to publish the leave; close() clears it.
      member.leaving = setTimeout(() => this.remove(topic, identity.id), this.debounceMs);
    }
  }

  /** Every member of `topic` now, in order of arrival. */
  members(topic: string): PresenceMember[] {
    const state = this.topics.get(topic);
    if (state === undefined) return [];
    return [...state.members].map(([id, m]) => view(id, m));
  }

  /** Members of every topic, counted once per topic. */
  count(): number {
    let total = 0;
    for (const state of this.topics.values()) total += state.members.size;
    return total;
  }

  /** Forgets everything, publishing nothing (the broker closed). */
  clear(): void {
    for (const state of this.topics.values()) {
      for (const member of state.members.values()) clearTimeout(member.leaving);
    }
    this.topics.clear();
  }

  private remove(topic: string, id: string): void {
    const state = this.topics.get(topic);
    const member = state?.members.get(id);
    if (state === undefined || member === undefined || member.connections > 0) return;
    state.members.delete(id);
    const joinedUnseen = state.joined.delete(id);
    if (state.members.size === 0 && !state.flushQueued) this.topics.delete(topic);
    if (this.store !== undefined) {
      void this.announce(topic, view(id, member), "leave");
      return;
    }
    // A member that joined and left before its join was published was never seen: nothing to say.
    if (!joinedUnseen) this.emit(topic, [], [view(id, member)], this.members(topic));
  }

  /** Publishes the joins of this tick together. */
  private queueFlush(topic: string, state: TopicState): void {
    if (state.flushQueued) return;
    state.flushQueued = true;
    queueMicrotask(() => {
      state.flushQueued = false;
      const joined = [...state.joined].map(([id, m]) => view(id, m));
      state.joined.clear();
      if (state.members.size === 0) this.topics.delete(topic);
      if (joined.length > 0) this.emit(topic, joined, [], this.members(topic));
    });
  }

  /**
   * Writes this process's members of `topic` to the backplane and announces
   * `member`'s join or leave only if no other process has it: one event per
   * change across every process. Unreachable engine: announced here.
   */
  private async announce(topic: string, member: PresenceMember, change: "join" | "leave") {
    let synced: Awaited<ReturnType<BackplanePresence["sync"]>>;
    try {
      synced = await this.store!.sync(topic, this.members(topic), member.id);
    } catch {
      synced = undefined;
    }
    if (synced?.elsewhere === true) return;
    const members = synced?.members ?? this.members(topic);
    if (change === "join") this.emit(topic, [member], [], members);
    else this.emit(topic, [], [member], members);
  }

  private emit(
    topic: string,
    joined: PresenceMember[],
    left: PresenceMember[],
    members: PresenceMember[],
  ): void {
    if (this.render === undefined) return;
    let event: SSEEvent | string | undefined;
    try {
      event = this.render({ topic, joined, left, members });
      if (event === undefined) return;
      this.publish(this.prefix + topic, typeof event === "string" ? { data: event } : event);
    } catch (error) {
      console.error(`sse: presence.render failed for topic ${JSON.stringify(topic)}:`, error);
    }
  }
}

function view(id: string, member: MemberState): PresenceMember {
  return Object.freeze({ id, data: member.data, connections: member.connections });
}
