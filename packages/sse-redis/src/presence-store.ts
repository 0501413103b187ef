/**
 * Presence shared through Redis. Each process writes its own members of each
 * topic as one field of the topic's hash and keeps itself alive in a sorted
 * set of processes scored by expiry (Redis time + TTL), renewed by a
 * heartbeat every TTL/3. A process whose expiry passed is swept by a live
 * one: its fields are removed and its members that no live process has are
 * announced as left. Every key expires 4 TTLs after its last write, so
 * nothing outlives the processes that wrote it. Internal.
 *
 * Keys, under the backplane's prefix:
 * - `p:<topic>`: a hash, process id -> JSON list of its members `{ id, data, connections }`;
 * - `p-procs`: a sorted set, process id -> expiry (ms, Redis time);
 * - `p-topics:<process id>`: a set of the topics the process has members on.
 */
import { randomBytes } from "node:crypto";
import { type PresenceHost, type PresenceRow, SharedPresence } from "@burrow/sse-core/adapter";
import { Redis, type RedisOptions } from "ioredis";
import { SetupGuard } from "./setup-guard.js";
import { within } from "./within.js";

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Live processes' fields of the hash KEYS[1], given the process set KEYS[2]. */
const LIVE_FIELDS = `local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local score = redis.call('ZSCORE', KEYS[2], all[i])
  if score and tonumber(score) >= now then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end`;

// KEYS: topic hash, process set, process's topic set. ARGV: process, members JSON, ttl, topic.
// Returns: [this process was known ("1"; "0" once swept, or Redis lost its data), field, json...].
const SYNC_SCRIPT = `${NOW}
local ttl = tonumber(ARGV[3])
local alive = '0'
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then alive = '1' end
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl * 4)
if ARGV[2] == '[]' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[4])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl * 4)
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ttl * 4)
end
${LIVE_FIELDS}
table.insert(out, 1, alive)
return out`;

// KEYS: topic hash, process set. Returns: [field, json, ...] of live processes.
const MEMBERS_SCRIPT = `${NOW}
${LIVE_FIELDS}
return out`;

// KEYS: process set. ARGV: key prefix, this process. Removes every expired
// process (not this one) and its fields; returns [topic, json, ...] of what was removed.
const SWEEP_SCRIPT = `${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local out = {}
for _, proc in ipairs(dead) do
  if proc ~= ARGV[2] then
    local set = ARGV[1] .. 'p-topics:' .. proc
    for _, topic in ipairs(redis.call('SMEMBERS', set)) do
      local key = ARGV[1] .. 'p:' .. topic
      local json = redis.call('HGET', key, proc)
      if json then
        redis.call('HDEL', key, proc)
        out[#out + 1] = topic
        out[#out + 1] = json
      end
    end
    redis.call('DEL', set)
    redis.call('ZREM', KEYS[1], proc)
  end
end
return out`;

interface PresenceRedis extends Redis {
  ssePresenceSync(
    topicKey: string,
    procs: string,
    procTopics: string,
    proc: string,
    json: string,
    ttl: number,
    topic: string,
  ): Promise<string[]>;
  ssePresenceMembers(topicKey: string, procs: string): Promise<string[]>;
  ssePresenceSweep(procs: string, prefix: string, proc: string): Promise<string[]>;
}

const TIMED_OUT = Symbol("timed out");

/** Options of {@link RedisPresence}. */
export interface RedisPresenceOptions {
  url: string;
  redis: RedisOptions;
  prefix: string;
  ttlMs: number;
  timeoutMs: number;
  onError(error: Error): void;
}

/** `[a, b, c, d, ...]` as pairs `[a, b], [c, d], ...`. */
function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/**
 * {@link BackplanePresence} on Redis, with its own connection: core's
 * {@link SharedPresence} does the bookkeeping, this the Redis side.
 */
export class RedisPresence extends SharedPresence {
  private redis: PresenceRedis | undefined;
  private firstReady: Promise<void> = Promise.resolve();
  readonly owner = randomBytes(8).toString("hex");
  /** When the connection last became ready (0 while it is not). */
  private readyAt = 0;
  /** The connection was ready once: from then on, not ready means down. */
  private everReady = false;
  private closed = false;

  constructor(
    host: PresenceHost,
    private readonly options: RedisPresenceOptions,
  ) {
    super(host, options.ttlMs);
  }

  readySince(): number {
    return this.readyAt;
  }

  /**
   * The connection, opened on first use: a process none of whose streams is
   * a member costs Redis nothing. Resolves once it is ready (at most
   * `timeoutMs` for the first connection), or undefined while it is down.
   */
  private async connection(): Promise<PresenceRedis | undefined> {
    if (this.closed) return undefined;
    if (this.redis === undefined) {
      const redis = new Redis(this.options.url, {
        ...this.options.redis,
        connectionName: `${this.options.redis.connectionName ?? "burrow-sse"}-presence`,
        lazyConnect: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
      });
      redis.defineCommand("ssePresenceSync", { numberOfKeys: 3, lua: SYNC_SCRIPT });
      redis.defineCommand("ssePresenceMembers", { numberOfKeys: 2, lua: MEMBERS_SCRIPT });
      redis.defineCommand("ssePresenceSweep", { numberOfKeys: 1, lua: SWEEP_SCRIPT });
      this.redis = redis as PresenceRedis;
      this.firstReady = new Promise((resolve) => redis.once("ready", () => resolve()));
      redis.on("ready", () => {
        this.everReady = true;
        this.readyAt = Date.now();
        void this.beat();
      });
      redis.on("close", () => {
        this.readyAt = 0;
      });
      // Closed on a configuration error rather than left to go on, on database 0 after a refused SELECT.
      const guard = new SetupGuard(redis);
      redis.on("error", (error: Error) => {
        if (!guard.closedCurrent) guard.refuses(error);
        this.options.onError(error);
      });
    }
    if (this.readyAt === 0 && !this.everReady) {
      await within(this.firstReady, this.options.timeoutMs, undefined);
    }
    return this.readyAt === 0 ? undefined : this.redis;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    const redis = this.redis;
    if (redis === undefined) return;
    if (redis.status === "ready") {
      // Marked expired rather than deleted: the next sweep (within a third of
      // the TTL) announces as left only the members who did not reconnect to
      // another process meanwhile.
      await this.call(redis.zadd(this.keys("").procs, 0, this.owner));
      await within(redis.quit(), this.options.timeoutMs, undefined).catch(() => {});
    }
    redis.disconnect();
  }

  async write(
    topic: string,
    json: string,
  ): Promise<{ known: boolean; rows: PresenceRow[] } | undefined> {
    const redis = await this.connection();
    if (redis === undefined) return undefined;
    const k = this.keys(topic);
    const fields = await this.call(
      redis.ssePresenceSync(
        k.topic,
        k.procs,
        k.procTopics,
        this.owner,
        json,
        this.options.ttlMs,
        topic,
      ),
    );
    return fields === undefined
      ? undefined
      : { known: fields[0] === "1", rows: pairs(fields.slice(1)) };
  }

  async read(topic: string): Promise<PresenceRow[] | undefined> {
    const redis = await this.connection();
    if (redis === undefined) return undefined;
    const k = this.keys(topic);
    const fields = await this.call(redis.ssePresenceMembers(k.topic, k.procs));
    return fields === undefined ? undefined : pairs(fields);
  }

  async sweep(): Promise<[string, string][] | undefined> {
    const redis = this.redis;
    if (redis === undefined || this.readyAt === 0) return undefined;
    const removed = await this.call(
      redis.ssePresenceSweep(this.keys("").procs, this.options.prefix, this.owner),
    );
    return removed === undefined ? undefined : pairs(removed);
  }

  private async call<T>(command: Promise<T>): Promise<T | undefined> {
    try {
      const answer = await within(command, this.options.timeoutMs, TIMED_OUT);
      if (answer !== TIMED_OUT) return answer;
      // A hung connection is replaced: the new one renews this process's
      // members first, and sweeps only a TTL later (see SharedPresence.beat).
      if (this.readyAt !== 0 && !this.closed) {
        this.readyAt = 0;
        this.redis?.disconnect(true);
      }
      return undefined;
    } catch (error) {
      this.options.onError(error as Error);
      return undefined;
    }
  }

  private keys(topic: string) {
    const prefix = this.options.prefix;
    return {
      topic: `${prefix}p:${topic}`,
      procs: `${prefix}p-procs`,
      procTopics: `${prefix}p-topics:${this.owner}`,
    };
  }
}
