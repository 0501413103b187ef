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
import type {
  BackplanePresence,
  PresenceHost,
  PresenceMember,
  PresenceSync,
} from "@burrow/sse-core";
import { Redis, type RedisOptions } from "ioredis";
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

/** Members of `fields` (`[process, json, ...]`), merged by id with connections summed; `except`'s skipped. */
function merge(fields: readonly string[], except?: string): Map<string, PresenceMember> {
  const out = new Map<string, PresenceMember>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === except) continue;
    let list: PresenceMember[];
    try {
      list = JSON.parse(fields[i + 1]!) as PresenceMember[];
    } catch {
      continue; // not written by a broker
    }
    if (!Array.isArray(list)) continue;
    for (const member of list) {
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

/** {@link BackplanePresence} on Redis, with its own connection. */
export class RedisPresence implements BackplanePresence {
  private redis: PresenceRedis | undefined;
  private firstReady: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly proc = randomBytes(8).toString("hex");
  /** When the connection last became ready (0 while it is not). */
  private readySince = 0;
  /** The connection was ready once: from then on, not ready means down. */
  private everReady = false;
  /** This process has written its members to Redis (so others may have announced them). */
  private wrote = false;
  private closed = false;
  /** Sweeps run by this process, ever. */
  sweeps = 0;

  constructor(
    private readonly host: PresenceHost,
    private readonly options: RedisPresenceOptions,
  ) {}

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
        this.readySince = Date.now();
        void this.beat();
      });
      redis.on("close", () => {
        this.readySince = 0;
      });
      redis.on("error", (error: Error) => this.options.onError(error));
      this.heartbeat = setInterval(
        () => void this.beat(),
        Math.max(1, Math.floor(this.options.ttlMs / 3)),
      );
      this.heartbeat.unref();
    }
    if (this.readySince === 0 && !this.everReady) {
      await within(this.firstReady, this.options.timeoutMs, undefined);
    }
    return this.readySince === 0 ? undefined : this.redis;
  }

  async sync(
    topic: string,
    local: PresenceMember[],
    id: string,
  ): Promise<PresenceSync | undefined> {
    const fields = await this.write(topic, local);
    if (fields === undefined) return undefined;
    const elsewhere = merge(fields.slice(1), this.proc).has(id);
    return { elsewhere, members: [...merge(fields.slice(1)).values()] };
  }

  async members(topic: string): Promise<PresenceMember[] | undefined> {
    const redis = await this.connection();
    if (redis === undefined) return undefined;
    const k = this.keys(topic);
    const fields = await this.call(redis.ssePresenceMembers(k.topic, k.procs));
    return fields === undefined ? undefined : [...merge(fields).values()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    const redis = this.redis;
    if (redis === undefined) return;
    if (redis.status === "ready") {
      // Marked expired rather than deleted: the next sweep (within a third of
      // the TTL) announces as left only the members who did not reconnect to
      // another process meanwhile.
      await this.call(redis.zadd(this.keys("").procs, 0, this.proc));
      await within(redis.quit(), this.options.timeoutMs, undefined).catch(() => {});
    }
    redis.disconnect();
  }

  /** Writes this process's members of `topic`; the answer of the sync script, or undefined. */
  private async write(topic: string, local: PresenceMember[]): Promise<string[] | undefined> {
    const redis = await this.connection();
    if (redis === undefined) return undefined;
    const k = this.keys(topic);
    this.wrote = true;
    const json = JSON.stringify(
      local.map(({ id, data, connections }) => ({ id, data, connections })),
    );
    return this.call(
      redis.ssePresenceSync(
        k.topic,
        k.procs,
        k.procTopics,
        this.proc,
        json,
        this.options.ttlMs,
        topic,
      ),
    );
  }

  /**
   * Renews this process's entries (announcing its members again, once per
   * topic, only if it had been swept meanwhile), then, once it has been
   * connected for a whole TTL (so every live process had time to renew its
   * own after an outage), sweeps the processes that stopped renewing.
   */
  private async beat(): Promise<void> {
    if (this.closed || this.readySince === 0) return;
    for (const [topic, local] of this.host.local()) {
      const known = this.wrote;
      const fields = await this.write(topic, local);
      if (fields === undefined || fields[0] === "1" || !known || local.length === 0) continue;
      // This process had been swept (its members announced as left): announce who is back.
      const others = merge(fields.slice(1), this.proc);
      const back = local.filter((m) => !others.has(m.id));
      if (back.length > 0) this.host.joined(topic, back, [...merge(fields.slice(1)).values()]);
    }
    const redis = this.redis;
    if (redis === undefined || this.readySince === 0) return;
    if (Date.now() - this.readySince < this.options.ttlMs) return;
    const k = this.keys("");
    this.sweeps++;
    const removed = await this.call(
      redis.ssePresenceSweep(k.procs, this.options.prefix, this.proc),
    );
    for (let i = 0; removed !== undefined && i + 1 < removed.length; i += 2) {
      const topic = removed[i]!;
      const gone = merge([".", removed[i + 1]!]);
      const fields = await this.call(redis.ssePresenceMembers(this.keys(topic).topic, k.procs));
      if (fields === undefined) continue;
      const live = merge(fields);
      const left = [...gone.values()].filter((m) => !live.has(m.id));
      if (left.length > 0) this.host.left(topic, left, [...live.values()]);
    }
  }

  private async call<T>(command: Promise<T>): Promise<T | undefined> {
    try {
      const answer = await within(command, this.options.timeoutMs, TIMED_OUT);
      if (answer !== TIMED_OUT) return answer;
      // A hung connection is replaced: the new one renews this process's
      // members first, and sweeps only a TTL later (see beat).
      if (this.readySince !== 0 && !this.closed) {
        this.readySince = 0;
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
      procTopics: `${prefix}p-topics:${this.proc}`,
    };
  }
}
