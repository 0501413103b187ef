/**
 * The Lua scripts that make each publish and each replay one atomic step on
 * Redis (EVALSHA through ioredis `defineCommand`). Internal.
 *
 * Keys, under the backplane's prefix:
 * - `meta`: a hash holding `epoch` (random, set by the first publish on an
 *   empty Redis) and `seq` (the global counter);
 * - `evicted`: a hash, topic -> highest seq trimmed from that topic's stream;
 * - `h:<topic>`: a stream per topic, entry ids `<seq>-0`, fields `e` (the
 *   event as JSON), `a` ("1" when the backplane assigned the event's id) and
 *   `o` (the publishing process and its publish number).
 * Channel: `t:<topic>`, one message per publish:
 * `<seq>\n<epoch>\n<origin>\n<assigned>\n<event JSON>`.
 */

/**
 * KEYS: meta, evicted, stream. ARGV: channel, topic, event JSON, history
 * size, epoch to use if none is set, origin, "1" to assign an id when the
 * event has none (history on). Returns the seq.
 */
export const PUBLISH_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[5]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local size = tonumber(ARGV[4])
if size > 0 then
  local excess = redis.call('XLEN', KEYS[3]) - size + 1
  if excess > 0 then
    local old = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', excess)
    local last = string.match(old[#old][1], '^(%d+)')
    redis.call('HSET', KEYS[2], ARGV[2], last)
    redis.call('XTRIM', KEYS[3], 'MAXLEN', size - 1)
  end
  local added = redis.pcall('XADD', KEYS[3], seq .. '-0', 'e', ARGV[3], 'a', ARGV[7], 'o', ARGV[6])
  if type(added) == 'table' and added.err then
    -- The stream is ahead of the counter (keys edited by hand): start it over, as evicted.
    redis.call('DEL', KEYS[3])
    redis.call('HSET', KEYS[2], ARGV[2], seq - 1)
    redis.call('XADD', KEYS[3], seq .. '-0', 'e', ARGV[3], 'a', ARGV[7], 'o', ARGV[6])
  end
end
redis.call('PUBLISH', ARGV[1], seq .. '\\n' .. epoch .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[7] .. '\\n' .. ARGV[3])
return seq
`;

/**
 * KEYS: meta, evicted, then one stream per topic. ARGV: epoch, seq to read
 * after, then the topics (same order as their streams). Returns nil when the
 * epoch differs, the seq was never issued, or a topic evicted an event after
 * it; else one XRANGE reply per topic.
 */
export const REPLAY_SCRIPT = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return false end
local after = tonumber(ARGV[2])
if after > tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return false end
local out = {}
for i = 3, #KEYS do
  if tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') > after then return false end
  out[#out + 1] = redis.call('XRANGE', KEYS[i], (after + 1) .. '-0', '+')
end
return out
`;
