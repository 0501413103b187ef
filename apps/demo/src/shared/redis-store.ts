import { Redis } from "ioredis";
import {
  type AddedNote,
  type Badge,
  MAX_NOTES,
  type Note,
  PROJECTS,
  type Project,
  projectInfo,
  type Store,
  type Tone,
  withBadge,
} from "./store.js";

// Adds a note and drops the oldest past the limit, at once: KEYS notes, note
// ids; ARGV title, creation time (ISO), limit. Returns { id, { dropped ids } }.
const ADD_NOTE = `
local id = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], id, cjson.encode({ id = id, title = ARGV[1], createdAt = ARGV[2] }))
local dropped = {}
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], extra)
  for i = 2, #popped, 2 do dropped[#dropped + 1] = tonumber(popped[i]) end
end
return { id, dropped }`;

// Sets a badge and bumps its revision, from the initial one if it was never
// set: KEYS badge; ARGV status, tone, initial revision. Returns the revision.
const UPDATE_BADGE = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'revision', ARGV[3]) end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'tone', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'revision', 1)`;

/** Where a {@link RedisStore} keeps the demo's state. */
export interface RedisStoreOptions {
  url: string;
  /** Prefix of its keys, followed by `demo:` (the backplane's prefix: one group of demos). */
  prefix?: string;
}

/**
 * The demo's state in Redis (`REDIS_URL`, the backplane's): every demo on it
 * reads and changes the same notes, status and badges, so a page loaded from
 * any of them shows the same, and a snapshot rendered by any of them too.
 * Keys: `<prefix>demo:notes` (a sorted set by id), `demo:note-id` and
 * `demo:job-id` (counters), `demo:status`, `demo:badge:<id>` (a hash).
 * One connection: its commands run in the order they are called.
 */
export class RedisStore implements Store {
  readonly #redis: Redis;
  readonly #key: (name: string) => string;

  constructor(options: RedisStoreOptions) {
    const prefix = `${options.prefix ?? "burrow-sse:"}demo:`;
    this.#key = (name) => `${prefix}${name}`;
    // A request fails at once while Redis is away, instead of hanging; reconnects by itself.
    this.#redis = new Redis(options.url, { maxRetriesPerRequest: 1 });
    this.#redis.on("error", () => {});
  }

  async notes(): Promise<Note[]> {
    const members = await this.#redis.zrange(this.#key("notes"), 0, -1);
    return members.map((member) => {
      const { id, title, createdAt } = JSON.parse(member) as Record<string, string>;
      return { id: Number(id), title: String(title), createdAt: new Date(String(createdAt)) };
    });
  }

  async addNote(title: string): Promise<AddedNote> {
    const createdAt = new Date();
    const keys = [this.#key("notes"), this.#key("note-id")];
    const args = [title, createdAt.toISOString(), MAX_NOTES];
    const [id, dropped] = (await this.#redis.eval(ADD_NOTE, 2, ...keys, ...args)) as [
      number,
      number[],
    ];
    return { note: { id, title, createdAt }, dropped };
  }

  async status(): Promise<string | undefined> {
    return (await this.#redis.get(this.#key("status"))) ?? undefined;
  }

  async setStatus(text: string): Promise<void> {
    await this.#redis.set(this.#key("status"), text);
  }

  async projects(): Promise<Project[]> {
    const pipeline = this.#redis.pipeline();
    for (const project of PROJECTS) pipeline.hgetall(this.#key(`badge:${project.id}`));
    const badges = (await pipeline.exec()) ?? [];
    return PROJECTS.map((project, i) => {
      const [error, badge] = badges[i] ?? [new Error("no answer")];
      if (error) throw error;
      return withBadge(project, badgeOf(badge as Record<string, string>));
    });
  }

  async project(id: string): Promise<Project | undefined> {
    const info = projectInfo(id);
    if (info === undefined) return undefined;
    return withBadge(info, badgeOf(await this.#redis.hgetall(this.#key(`badge:${id}`))));
  }

  async updateProject(id: string, status: string, tone: Tone): Promise<Project | undefined> {
    const info = projectInfo(id);
    if (info === undefined) return undefined;
    const key = this.#key(`badge:${id}`);
    const args = [status, tone, info.initial.revision];
    const revision = (await this.#redis.eval(UPDATE_BADGE, 1, key, ...args)) as number;
    return withBadge(info, { status, tone, revision });
  }

  async nextJobId(): Promise<number> {
    return this.#redis.incr(this.#key("job-id"));
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/** The badge a Redis hash holds, if it holds one. */
function badgeOf(hash: Record<string, string>): Badge | undefined {
  if (hash.revision === undefined) return undefined;
  return { status: hash.status ?? "", tone: hash.tone as Tone, revision: Number(hash.revision) };
}
