import type {
  BackplanePresence,
  PresenceHost,
  PresenceMember,
  PresenceSync,
} from "./backplane-presence.js";

/** One process's members of one topic as an engine stores them: its id and their JSON. */
export type PresenceRow = readonly [owner: string, json: string];

/**
 * What a backplane's engine does for {@link SharedPresence} (a subclass
 * implements it): store each process's members of each topic as one row,
 * keep each process alive with an expiry (the engine's clock plus the
 * TTL), and remove expired processes.
 */
export interface PresenceEngine {
  /** This process's id in the rows (random per process). */
  readonly owner: string;
  /**
   * In one atomic step: renews this process's expiry, writes its members of
   * `topic` (`json`; `"[]"` removes its row), and reads the rows of every
   * live process on `topic`. `known`: this process was alive in the engine
   * before this write (false once swept, or the first time). Undefined when
   * the engine is unreachable.
   */
  write(topic: string, json: string): Promise<{ known: boolean; rows: PresenceRow[] } | undefined>;
  /** The rows of every live process on `topic`; undefined when the engine is unreachable. */
  read(topic: string): Promise<PresenceRow[] | undefined>;
  /**
   * Removes every expired process but this one, and its rows; resolves with
   * what it removed (`[topic, json]`), each row removed by one sweeper only.
   */
  sweep(): Promise<(readonly [topic: string, json: string])[] | undefined>;
  /** When the link to the engine last became usable (ms, `Date.now()`), 0 while it is not. */
  readySince(): number;
}

/**
 * Members of `rows`, merged by id (connections summed, the first row's data
 * kept), skipping the row of `except`; rows not written by a broker are ignored.
 */
export function mergePresence(
  rows: Iterable<PresenceRow>,
  except?: string,
): Map<string, PresenceMember> {
  const out = new Map<string, PresenceMember>();
  for (const [owner, json] of rows) {
    if (owner === except) continue;
    let list: unknown;
    try {
      list = JSON.parse(json);
    } catch {
      continue;
    }
    if (!Array.isArray(list)) continue;
    for (const member of list as Partial<PresenceMember>[]) {
      if (typeof member?.id !== "string") continue;
      const seen = out.get(member.id);
      out.set(
        member.id,
        Object.freeze({
          id: member.id,
          data: seen === undefined ? member.data : seen.data,
          connections: (seen?.connections ?? 0) + (Number(member.connections) || 0),
        }),
      );
    }
  }
  return out;
}

/**
 * Presence shared through a backplane's engine, whatever the engine: the
 * bookkeeping that `@burrow/sse-redis` and `@burrow/sse-postgres` share; a
 * subclass implements {@link PresenceEngine} on its engine.
 * Writes of one topic run one at a time, and each writes what this process
 * has announced (a member whose join or leave is still queued is written by
 * its own sync, not before): so of two processes changing a member at once,
 * exactly one sees it new (or gone), even while others join in the same tick.
 * A heartbeat every `ttlMs / 3` renews this process's rows (announcing its
 * members through `host.joined` if it had been swept meanwhile) and, once
 * the link has been usable for a whole `ttlMs` (so every live process had
 * time to renew its rows after an outage), sweeps the processes that
 * stopped renewing, announcing through `host.left` those of their members
 * no live process has. For backplane authors.
 */
export abstract class SharedPresence implements BackplanePresence, PresenceEngine {
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** This process has written its members (so others may have announced them). */
  private wrote = false;
  private beating = false;
  private stopped = false;
  /** Per topic, the members this process has written (as of its last sync of each). */
  private readonly written = new Map<string, Map<string, PresenceMember>>();
  /** Per topic, the tail of its queue of writes. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Sweeps run by this process, ever. */
  sweeps = 0;

  /**
   * @param host - the broker's side (see {@link PresenceHost}).
   * @param ttlMs - how long a process stays alive in the engine after its last write.
   */
  constructor(
    private readonly host: PresenceHost,
    protected readonly ttlMs: number,
  ) {}

  /** See {@link PresenceEngine.owner}. */
  abstract readonly owner: string;
  /** See {@link PresenceEngine.write}. */
  abstract write(
    topic: string,
    json: string,
  ): Promise<{ known: boolean; rows: PresenceRow[] } | undefined>;
  /** See {@link PresenceEngine.read}. */
  abstract read(topic: string): Promise<PresenceRow[] | undefined>;
  /** See {@link PresenceEngine.sweep}. */
  abstract sweep(): Promise<(readonly [topic: string, json: string])[] | undefined>;
  /** See {@link PresenceEngine.readySince}. */
  abstract readySince(): number;

  /** Starts the heartbeat (idempotent); a process none of whose streams is a member need not. */
  start(): void {
    if (this.heartbeat !== undefined || this.stopped) return;
    this.heartbeat = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.ttlMs / 3)));
    (this.heartbeat as { unref?: () => void }).unref?.();
  }

  /** See {@link BackplanePresence.sync}. */
  async sync(
    topic: string,
    local: PresenceMember[],
    id: string,
  ): Promise<PresenceSync | undefined> {
    return this.serial(topic, async () => {
      const state = this.written.get(topic) ?? new Map<string, PresenceMember>();
      const now = local.find((m) => m.id === id);
      if (now === undefined) state.delete(id);
      else state.set(id, now);
      if (state.size === 0) this.written.delete(topic);
      else this.written.set(topic, state);
      const written = await this.writeList(topic, current(state, local));
      if (written === undefined) return undefined;
      const elsewhere = mergePresence(written.rows, this.owner).has(id);
      return { elsewhere, members: [...mergePresence(written.rows).values()] };
    });
  }

  /** See {@link BackplanePresence.members}. */
  async members(topic: string): Promise<PresenceMember[] | undefined> {
    this.start();
    const rows = await this.read(topic);
    return rows === undefined ? undefined : [...mergePresence(rows).values()];
  }

  /**
   * Renews this process's rows (announcing its members again, once per
   * topic, only if it had been swept meanwhile), then sweeps dead processes
   * if the link has been usable for a whole TTL. Runs one at a time.
   */
  async beat(): Promise<void> {
    if (this.stopped || this.beating) return;
    this.beating = true;
    try {
      for (const [topic, local] of this.host.local()) {
        await this.serial(topic, async () => {
          const state = this.written.get(topic);
          if (state === undefined) return; // its members' syncs are queued: they write it
          const known = this.wrote;
          const list = current(state, local);
          const written = await this.writeList(topic, list);
          if (written === undefined || written.known || !known) return;
          // This process had been swept (its members announced as left): announce who is back.
          const others = mergePresence(written.rows, this.owner);
          const back = list.filter((m) => !others.has(m.id));
          if (back.length > 0) {
            this.host.joined(topic, back, [...mergePresence(written.rows).values()]);
          }
        });
      }
      const since = this.readySince();
      if (this.stopped || since === 0 || Date.now() - since < this.ttlMs) return;
      this.sweeps++;
      const removed = await this.sweep();
      for (const [topic, json] of removed ?? []) {
        const gone = mergePresence([["", json]]);
        const rows = await this.read(topic);
        if (rows === undefined) continue;
        const live = mergePresence(rows);
        const left = [...gone.values()].filter((m) => !live.has(m.id));
        if (left.length > 0) this.host.left(topic, left, [...live.values()]);
      }
    } finally {
      this.beating = false;
    }
  }

  /** Stops the heartbeat. Idempotent. */
  protected stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
  }

  /** Runs `write` after the writes of `topic` queued before it. */
  private serial<T>(topic: string, write: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(topic) ?? Promise.resolve()).then(write, write);
    const tail = next.catch(() => {});
    this.queues.set(topic, tail);
    void tail.then(() => {
      if (this.queues.get(topic) === tail) this.queues.delete(topic);
    });
    return next;
  }

  private async writeList(topic: string, local: PresenceMember[]) {
    this.start();
    const json = JSON.stringify(
      local.map(({ id, data, connections }) => ({ id, data, connections })),
    );
    const written = await this.write(topic, json);
    if (written !== undefined) this.wrote = true;
    return written;
  }
}

/** `state`'s members, with their connections and data as `local` has them now (when it has them). */
function current(
  state: Map<string, PresenceMember>,
  local: readonly PresenceMember[],
): PresenceMember[] {
  const now = new Map(local.map((m) => [m.id, m]));
  return [...state.values()].map((m) => now.get(m.id) ?? m);
}
