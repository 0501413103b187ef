/**
 * The Lua scripts that make each publish, each page of a replay, each read
 * of the latest id, and each read of a topic's latest event one atomic step on Redis (EVALSHA through ioredis
 * `defineCommand`). Internal.
 *
 * Keys, under the backplane's prefix:
 * - `meta`: a hash holding `epoch` (random, set by the first publish or
 *   `latest()` on an empty Redis) and `seq` (the global counter);
 * - `evicted`: a hash, topic -> highest seq trimmed from that topic's stream;
 * - `h:<topic>`: a stream per topic, entry ids `<seq>-0`, fields `e` (the
 *   event as JSON), `a` ("1" when the backplane assigned the event's id) and
 *   `o` (the publishing process and its publish number).
 * Channel: `t:<topic>`, one message per script call, carrying every event
 * the call ordered (see `decodeBatch` in `codec.ts`):
 * `B\n<epoch>\n<assigned>\n<first seq>\n<count>\n`, then `<origin>\n<event JSON>\n`
 * per event; a gap marker (events of the topic that overflowed a
 * publisher's `maxPending`) has an empty JSON, and raises the topic's
 * `evicted` to its seq.
 */
import type { Redis } from "ioredis";

/** An ioredis connection with the backplane's scripts (see {@link defineScripts}). */
export interface ScriptedRedis extends Redis {
  /** `events`: for each event, its JSON ("" for a gap marker) then its origin. */
  ssePublish(
    meta: string,
    evicted: string,
    stream: string,
    channel: string,
    topic: string,
    historySize: number,
    epoch: string,
    assignId: string,
    ...events: string[]
  ): Promise<number>;
  sseReplayPage(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  sseRange(
    meta: string,
    evicted: string,
    stream: string,
    epoch: string,
    topic: string,
    cursor: number,
    count: number,
  ): Promise<[head: string, floor: string, entries: [id: string, fields: string[]][]] | null>;
  sseLatest(meta: string, epoch: string): Promise<[epoch: string, seq: string]>;
  sseLast(
    meta: string,
    stream: string,
  ): Promise<[epoch: string, entry: [id: string, fields: string[]]] | null>;
}

/** Defines the scripts on `redis` (sent by EVALSHA, loaded on first use). */
export function defineScripts(redis: Redis): ScriptedRedis {
  redis.defineCommand("ssePublish", { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
  redis.defineCommand("sseReplayPage", { lua: REPLAY_PAGE_SCRIPT });
  redis.defineCommand("sseRange", { numberOfKeys: 3, lua: RANGE_SCRIPT });
  redis.defineCommand("sseLatest", { numberOfKeys: 1, lua: LATEST_SCRIPT });
  redis.defineCommand("sseLast", { numberOfKeys: 2, lua: LAST_SCRIPT });
  return redis as ScriptedRedis;
}

/** Lua: `epoch`, the one in `meta` (KEYS[1]), set to `fresh` first on an empty Redis. */
function epochOr(fresh: string): string {
  return `local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ${fresh}
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end`;
}

/**
 * KEYS: meta, evicted, stream. ARGV: channel, topic, history size, epoch to
 * use if none is set, "1" to assign an id when the event has none (history
 * on), then for each event of the topic, in order, its JSON and its origin
 * (an empty JSON: a gap marker, not stored, that raises the topic's
 * `evicted` to its seq). One call orders a run of events of one topic
 * (consecutive seqs: Redis runs one script at a time) and publishes them in
 * one channel message; the stream is trimmed once, at the end. Returns the
 * last seq.
 */
export const PUBLISH_SCRIPT = `
${epochOr("ARGV[4]")}
local size = tonumber(ARGV[3])
local seq = 0
local first = 0
local lines = {}
for i = 6, #ARGV, 2 do
  local json, origin = ARGV[i], ARGV[i + 1]
  seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  if i == 6 then first = seq end
  lines[#lines + 1] = origin
  lines[#lines + 1] = json
  if json == '' then
    redis.call('HSET', KEYS[2], ARGV[2], seq)
  elseif size > 0 then
    local added = redis.pcall('XADD', KEYS[3], seq .. '-0', 'e', json, 'a', ARGV[5], 'o', origin)
    if type(added) == 'table' and added.err then
      -- The stream is ahead of the counter (keys edited by hand): start it over, as evicted.
      redis.call('DEL', KEYS[3])
      redis.call('HSET', KEYS[2], ARGV[2], seq - 1)
      redis.call('XADD', KEYS[3], seq .. '-0', 'e', json, 'a', ARGV[5], 'o', origin)
    end
  end
end
if #lines > 0 then
  local header = 'B\\n' .. epoch .. '\\n' .. ARGV[5] .. '\\n' .. first .. '\\n' .. (#lines / 2) .. '\\n'
  redis.call('PUBLISH', ARGV[1], header .. table.concat(lines, '\\n') .. '\\n')
end
if size > 0 then
  local excess = redis.call('XLEN', KEYS[3]) - size
  if excess > 0 then
    local old = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', excess)
    local last = tonumber(string.match(old[#old][1], '^(%d+)'))
    if last > tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0') then
      redis.call('HSET', KEYS[2], ARGV[2], last)
    end
    redis.call('XTRIM', KEYS[3], 'MAXLEN', size)
  end
end
return seq
`;

/**
 * Most stream entries one replay call reads (over all its topics): a resume is
 * read in pages this size, so that no single script holds Redis (which runs
 * one script at a time, publishes included) for long.
 */
export const REPLAY_PAGE = 100;

/**
 * One page of a replay. KEYS: meta, evicted, then one stream per topic.
 * ARGV: epoch, seq to read after, entries budget, then for each stream its
 * topic, the seq of its last entry read (the cursor) and how many entries it
 * may still read. Returns nil when the epoch differs, the seq was never
 * issued, or a topic evicted an event after its cursor (a gap); else, per
 * topic, `{ entries, done }`: done is 1 once its stream has no entry left.
 * Topics past the budget read nothing and are not done.
 */
export const REPLAY_PAGE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return false end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return false end
local budget = tonumber(ARGV[3])
local out = {}
for i = 3, #KEYS do
  local arg = 4 + (i - 3) * 3
  local cursor = tonumber(ARGV[arg + 1])
  if tonumber(redis.call('HGET', KEYS[2], ARGV[arg]) or '0') > cursor then return false end
  local wanted = math.min(budget, tonumber(ARGV[arg + 2]))
  local entries = {}
  if wanted > 0 then
    entries = redis.call('XRANGE', KEYS[i], (cursor + 1) .. '-0', '+', 'COUNT', wanted)
    budget = budget - #entries
  end
  out[#out + 1] = { entries, (wanted > 0 and #entries < wanted) and 1 or 0 }
end
return out
`;

/**
 * One page of a topic's range, for shared replays. KEYS: meta, evicted,
 * stream. ARGV: epoch, topic, the seq to read after, most entries to read.
 * Returns nil when the epoch differs; else `{ head, floor, entries }`: the
 * counter now, the seq up to which the topic evicted events, and the
 * entries after the cursor (fewer than asked: the stream has no more).
 */
export const RANGE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return false end
local head = redis.call('HGET', KEYS[1], 'seq') or '0'
local floor = redis.call('HGET', KEYS[2], ARGV[2]) or '0'
local entries = redis.call('XRANGE', KEYS[3], (tonumber(ARGV[3]) + 1) .. '-0', '+', 'COUNT', tonumber(ARGV[4]))
return { head, floor, entries }
`;

/**
 * KEYS: meta. ARGV: epoch to set if none is set (an empty Redis). Returns
 * `{ epoch, seq }`: the id of the last event ordered, `<epoch>-0` when none.
 */
export const LATEST_SCRIPT = `
${epochOr("ARGV[1]")}
return { epoch, redis.call('HGET', KEYS[1], 'seq') or '0' }
`;

/**
 * KEYS: meta, a topic's stream. Returns `{ epoch, entry }`: the stream's
 * newest entry (`{ id, fields }`) with the epoch its id belongs to; nil when
 * the stream holds none (or no epoch is set: an empty Redis).
 */
export const LAST_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return false end
local entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #entries == 0 then return false end
return { epoch, entries[1] }
`;
