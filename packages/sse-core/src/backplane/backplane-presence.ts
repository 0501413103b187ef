/**
 * What crosses a backplane for presence: one member as every process sees
 * it, what a broker hands {@link Backplane.presence}, and what the
 * backplane's engine answers.
 */

/** One member of a topic, as {@link EventBroker.members} and presence events see it. */
export interface PresenceMember {
  /** Its id. */
  readonly id: string;
  /** Its public data (undefined when none was given). */
  readonly data: unknown;
  /** Its open connections to the topic (0 while a leave waits out `debounceMs`). */
  readonly connections: number;
}

/** What a broker hands {@link Backplane.presence}: its own members, and where other processes' leaves go. */
export interface PresenceHost {
  /** This process's members of each topic that has some now (for heartbeats). */
  local(): Map<string, PresenceMember[]>;
  /**
   * Members of `topic` that were on a process that stopped answering (it died)
   * have left; `members` is every process's members of `topic` now.
   */
  left(topic: string, left: PresenceMember[], members: PresenceMember[]): void;
  /**
   * Members of `topic` that this process had announced to others came back
   * after this process was swept as dead (cut off from the engine longer
   * than its TTL); `members` is every process's members now.
   */
  joined(topic: string, joined: PresenceMember[], members: PresenceMember[]): void;
}

/** What {@link BackplanePresence.sync} finds, right after writing this process's members. */
export interface PresenceSync {
  /** The member that changed is on `topic` on another live process. */
  elsewhere: boolean;
  /** Every live process's members of `topic`, merged by id (connections summed). */
  members: PresenceMember[];
}

/** Presence shared through a backplane's engine. */
export interface BackplanePresence {
  /**
   * Writes this process's members of `topic` (`local`) after member `id`
   * joined or left here, and reads, in the same atomic step, whether `id` is
   * on another process: so of two processes that change at once, exactly one
   * sees the member as new (or gone). Undefined when the engine is unreachable.
   */
  sync(topic: string, local: PresenceMember[], id: string): Promise<PresenceSync | undefined>;
  /** Every live process's members of `topic`; undefined when the engine is unreachable. */
  members(topic: string): Promise<PresenceMember[] | undefined>;
}
