/**
 * Key naming on a Redis Cluster: every topic belongs to one *order group*,
 * whose keys and sharded channels all carry the group as a hash tag, so
 * that they live in one hash slot (one master) and one Lua script can touch
 * them all. A topic's group is its own hash tag when it has one (the text
 * between its first `{` and the next `}`, when not empty: `room:{42}:chat`
 * and `room:{42}:users` share the group `42`), else the whole topic. The
 * keys of a group are the single-Redis keys (see `scripts.ts`) under the
 * prefix `<prefix>{<group>}:`, so that the scripts and readers run on a
 * cluster unchanged. Internal.
 */

/**
 * The order group of `topic`: its hash tag, `{...}` as Redis reads one
 * (first `{`, next `}`, not empty), else the topic itself.
 *
 * @example
 * ```ts
 * groupOf("room:{42}:chat"); // "42"
 * groupOf("news"); // "news"
 * ```
 */
export function groupOf(topic: string): string {
  const open = topic.indexOf("{");
  if (open === -1) return topic;
  const close = topic.indexOf("}", open + 1);
  return close > open + 1 ? topic.slice(open + 1, close) : topic;
}

/**
 * The prefix of every key and channel of `group` under the backplane's
 * `prefix`: `<prefix>{<group>}:`, so that they hash to one slot.
 */
export function groupPrefix(prefix: string, group: string): string {
  return `${prefix}{${group}}:`;
}

/** CRC16 (XMODEM) of `bytes`, as Redis Cluster computes key slots. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

const encoder = new TextEncoder();

/**
 * The hash slot (0–16383) of `key` on a Redis Cluster: the CRC16 of its
 * hash tag (first `{`, next `}`, not empty) or else of the whole key, mod 16384.
 *
 * @example
 * ```ts
 * keySlot("burrow-sse:{news}:meta") === keySlot("burrow-sse:{news}:t:news"); // true
 * ```
 */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  let hashed = key;
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  return crc16(encoder.encode(hashed)) % 16384;
}
