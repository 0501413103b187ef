import type {
  BackplanePresence,
  PresenceHost,
  PresenceMember,
} from "../backplane/backplane-presence.js";
import type { Client } from "../delivery/client.js";
import type { SSEEvent } from "../wire/encode.js";
import {
  checkIdentity,
  type PresenceIdentity,
  type ResolvedPresenceOptions,
} from "./presence-options.js";
import { PresenceRenders } from "./presence-renders.js";

interface MemberState {
  data: unknown;
  connections: number;
  leaving: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The members of each topic of one broker: connections counted per member,
 * leaves debounced, changes rendered (at most once per `renderIntervalMs`
 * per topic) and published through `publish`. Internal.
 */
export class Presence {
  readonly prefix: string;
  private readonly debounceMs: number;
  private readonly maxDataBytes: number;
  private readonly topics = new Map<string, Map<string, MemberState>>();
  private readonly identities = new WeakMap<Client, PresenceIdentity>();
  private readonly renders: PresenceRenders;
  /** Shared with other processes through the backplane, when it can. */
  private store: BackplanePresence | undefined;

  constructor(options: ResolvedPresenceOptions, publish: (topic: string, event: SSEEvent) => void) {
    this.prefix = options.prefix;
    this.debounceMs = options.debounceMs;
    this.maxDataBytes = options.maxMemberDataBytes;
    this.renders = new PresenceRenders(options, (topic) => this.members(topic), publish);
  }

  /**
   * `identity` checked (a handler's `presence` result, `where` `"presence"`;
   * `subscribe`'s `member`, `"member"`): throws {@link SSEOptionError}
   * naming the field for a bad id, or data with a cycle or over `maxMemberDataBytes`.
   */
  admit(identity: unknown, where: "presence" | "member"): PresenceIdentity | undefined {
    return checkIdentity(identity, where, this.maxDataBytes);
  }

  /** Shares members through `backplane`'s engine. */
  share(backplane: { presence?(host: PresenceHost): BackplanePresence }): void {
    this.store = backplane.presence?.({
      local: () => {
        const out = new Map<string, PresenceMember[]>();
        for (const topic of this.topics.keys()) out.set(topic, this.members(topic));
        return out;
      },
      left: (topic, left, members) => this.renders.changed(topic, [], left, members),
      joined: (topic, joined, members) => this.renders.changed(topic, joined, [], members),
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
      let members = this.topics.get(topic);
      if (members === undefined) {
        members = new Map();
        this.topics.set(topic, members);
      }
      const member = members.get(identity.id);
      if (member === undefined) {
        const fresh: MemberState = { data: identity.data, connections: 1, leaving: undefined };
        members.set(identity.id, fresh);
        this.changed(topic, view(identity.id, fresh), "join");
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
      const member = this.topics.get(topic)?.get(identity.id);
      if (member === undefined) continue;
      member.connections--;
      if (member.connections > 0) continue;
      // Not unref'd: a process keeps running at most debounceMs to publish the leave; close() clears it.
      member.leaving = setTimeout(() => this.remove(topic, identity.id), this.debounceMs);
    }
  }

  /** Every member of `topic` now, in order of arrival. */
  members(topic: string): PresenceMember[] {
    const members = this.topics.get(topic);
    if (members === undefined) return [];
    return [...members].map(([id, m]) => view(id, m));
  }

  /** Members of every topic, counted once per topic. */
  count(): number {
    let total = 0;
    for (const members of this.topics.values()) total += members.size;
    return total;
  }

  /** Forgets everything, publishing nothing (the broker closed). */
  clear(): void {
    for (const members of this.topics.values()) {
      for (const member of members.values()) clearTimeout(member.leaving);
    }
    this.topics.clear();
    this.renders.clear();
  }

  private remove(topic: string, id: string): void {
    const members = this.topics.get(topic);
    const member = members?.get(id);
    if (members === undefined || member === undefined || member.connections > 0) return;
    members.delete(id);
    if (members.size === 0) this.topics.delete(topic);
    this.changed(topic, view(id, member), "leave");
  }

  /** `member` joined or left `topic` here: rendered, or first told to the backplane. */
  private changed(topic: string, member: PresenceMember, change: "join" | "leave"): void {
    if (this.store !== undefined) void this.announce(topic, member, change);
    else if (change === "join") this.renders.changed(topic, [member], []);
    else this.renders.changed(topic, [], [member]);
  }

  /**
   * Writes this process's members of `topic` to the backplane and announces
   * `member`'s join or leave only if no other process has it: one event per
   * change across every process. Unreachable engine: announced here, with
   * this process's members.
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
    if (change === "join") this.renders.changed(topic, [member], [], members);
    else this.renders.changed(topic, [], [member], members);
  }
}

function view(id: string, member: MemberState): PresenceMember {
  return Object.freeze({ id, data: member.data, connections: member.connections });
}
