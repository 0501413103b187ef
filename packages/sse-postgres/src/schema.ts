/**
 * The SQL of the backplane: its tables, the function that orders and
 * publishes a batch of events in one statement, and its reads. Every name
 * starts with the (checked) prefix `p`. Internal.
 *
 * - `<p>meta`: one row: `epoch` (random, chosen when the table is created,
 *   so ids of a dropped and recreated schema are never mistaken for new
 *   ones), `seq` (the global counter; its row lock orders every publish),
 *   `pruned` (the highest seq deleted for its age, across all topics at once).
 * - `<p>events`: the retained events, `historySize` per topic: `seq`,
 *   `topic`, `event` (its JSON, ASCII only), `assigned` (the backplane gives
 *   it an id), `origin` (`<process>:<publish number>`).
 * - `<p>topics`: per topic, `evicted`: the highest seq trimmed from it.
 * - `<p>publish_v2(...)`: orders a batch, stores it (history on, one insert
 *   for the whole batch), trims each topic to `historySize`, and notifies each
 *   event on its topic's channel, in chunks of at most {@link CHUNK}
 *   characters cut by the client (NOTIFY's payload is capped at 8,000 bytes),
 *   each `<seq> <epoch> <origin> <assigned> <part> <parts>\n<chunk>`; the
 *   chunks of one event are one transaction's, so listeners get them
 *   contiguously. An entry of no parts (one empty chunk) is a gap marker (a publisher's
 *   `maxPending` overflowed on that topic): not stored, it raises the topic's
 *   `evicted` to its seq (so no replay reads across it) and is notified as
 *   `<seq> <epoch> <origin> <assigned> 0 0\n`.
 */

/** Characters of an event's JSON per notification (the header adds under 100). */
export const CHUNK = 7800;

/** The names built from `prefix`. */
export interface Names {
  meta: string;
  events: string;
  topics: string;
  publish: string;
}

export function names(prefix: string): Names {
  return {
    meta: `${prefix}meta`,
    events: `${prefix}events`,
    topics: `${prefix}topics`,
    // Versioned: a release that changes it adds a new function beside the old one.
    publish: `${prefix}publish_v2`,
  };
}

/** One statement and its parameters. */
export interface Statement {
  text: string;
  values?: unknown[];
}

/**
 * Whether the tables and the function exist already (then nothing is
 * created: a role that may use them but not create them works).
 */
export function schemaCheckStatement(prefix: string): Statement {
  const n = names(prefix);
  return {
    text: "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL AND to_regprocedure($4) IS NOT NULL AS ready",
    values: [
      n.meta,
      n.events,
      n.topics,
      `${n.publish}(text[], text[], integer[], text[], text[], integer, boolean)`,
    ],
  };
}

/**
 * Creates what is missing, idempotently, in one transaction; several
 * processes may run it at once (an advisory lock on the prefix serializes
 * them). `epoch` goes into a new meta row only.
 */
export function schemaStatements(prefix: string, epoch: string): Statement[] {
  const n = names(prefix);
  const meta = `CREATE TABLE IF NOT EXISTS ${n.meta} (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      epoch text NOT NULL,
      seq bigint NOT NULL DEFAULT 0,
      pruned bigint NOT NULL DEFAULT 0
    )`;
  const rest = [
    `CREATE TABLE IF NOT EXISTS ${n.events} (
      seq bigint PRIMARY KEY,
      topic text NOT NULL,
      event text NOT NULL,
      assigned boolean NOT NULL,
      origin text NOT NULL,
      created timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE INDEX IF NOT EXISTS ${n.events}_topic ON ${n.events} (topic, seq)`,
    `CREATE TABLE IF NOT EXISTS ${n.topics} (
      topic text PRIMARY KEY,
      evicted bigint NOT NULL
    )`,
    `CREATE OR REPLACE FUNCTION ${n.publish}(
      p_topics text[], p_chunks text[], p_parts integer[], p_origins text[], p_channels text[],
      p_history integer, p_assign boolean
    ) RETURNS bigint LANGUAGE plpgsql AS $fn$
    DECLARE
      v_n integer := cardinality(p_topics);
      v_last bigint;
      v_epoch text;
      v_seq bigint;
      v_first integer := 1;
      v_parts integer;
      v_header text;
      v_assigned text := CASE WHEN p_assign THEN '1' ELSE '0' END;
      v_topic text;
      v_cut bigint;
      r record;
    BEGIN
      UPDATE ${n.meta} SET seq = seq + v_n RETURNING seq, epoch INTO v_last, v_epoch;
      IF cardinality(p_chunks) = v_n THEN
        -- Each event in one chunk (the usual batch): the arrays read side by side by unnest,
        -- never by subscript (which walks a text array from its start: a batch would cost its square).
        IF p_history > 0 THEN
          INSERT INTO ${n.events} (seq, topic, event, assigned, origin)
            SELECT v_last - v_n + u.i, u.topic, u.chunk, p_assign, u.origin
            FROM unnest(p_topics, p_chunks, p_parts, p_origins) WITH ORDINALITY AS u(topic, chunk, parts, origin, i)
            WHERE u.parts > 0;
        END IF;
        FOR r IN SELECT * FROM unnest(p_topics, p_chunks, p_parts, p_origins, p_channels)
            WITH ORDINALITY AS u(topic, chunk, parts, origin, channel, i) ORDER BY u.i LOOP
          v_seq := v_last - v_n + r.i;
          v_header := concat_ws(' ', v_seq, v_epoch, r.origin, v_assigned);
          IF r.parts = 0 THEN
            -- A gap marker: what its topic lost before it can no longer be replayed.
            INSERT INTO ${n.topics} (topic, evicted) VALUES (r.topic, v_seq)
              ON CONFLICT (topic) DO UPDATE SET evicted = greatest(${n.topics}.evicted, EXCLUDED.evicted);
            PERFORM pg_notify(r.channel, v_header || E' 0 0\\n');
          ELSE
            PERFORM pg_notify(r.channel, v_header || E' 0 1\\n' || r.chunk);
          END IF;
        END LOOP;
      ELSE
        -- An event in several chunks: the batch one event at a time.
        FOR i IN 1 .. v_n LOOP
          v_seq := v_last - v_n + i;
          v_parts := p_parts[i];
          v_header := concat_ws(' ', v_seq, v_epoch, p_origins[i], v_assigned);
          IF v_parts = 0 THEN
            -- A gap marker: what its topic lost before it can no longer be replayed.
            INSERT INTO ${n.topics} (topic, evicted) VALUES (p_topics[i], v_seq)
              ON CONFLICT (topic) DO UPDATE SET evicted = greatest(${n.topics}.evicted, EXCLUDED.evicted);
            PERFORM pg_notify(p_channels[i], v_header || E' 0 0\\n');
          ELSE
            IF p_history > 0 THEN
              INSERT INTO ${n.events} (seq, topic, event, assigned, origin)
                VALUES (v_seq, p_topics[i],
                  array_to_string(p_chunks[v_first : v_first + v_parts - 1], ''), p_assign, p_origins[i]);
            END IF;
            FOR k IN 0 .. v_parts - 1 LOOP
              PERFORM pg_notify(p_channels[i],
                v_header || ' ' || k || ' ' || v_parts || E'\\n' || p_chunks[v_first + k]);
            END LOOP;
          END IF;
          v_first := v_first + greatest(v_parts, 1);
        END LOOP;
      END IF;
      IF p_history > 0 THEN
        FOR v_topic IN SELECT DISTINCT t FROM unnest(p_topics) AS t LOOP
          SELECT seq INTO v_cut FROM ${n.events} WHERE topic = v_topic
            ORDER BY seq DESC OFFSET p_history LIMIT 1;
          IF FOUND THEN
            DELETE FROM ${n.events} WHERE topic = v_topic AND seq <= v_cut;
            INSERT INTO ${n.topics} (topic, evicted) VALUES (v_topic, v_cut)
              ON CONFLICT (topic) DO UPDATE SET evicted = greatest(${n.topics}.evicted, EXCLUDED.evicted);
          END IF;
        END LOOP;
      END IF;
      RETURN v_last;
    END
    $fn$`,
  ];
  return [
    { text: "SELECT pg_advisory_xact_lock(hashtext($1))", values: [`burrow-sse:${prefix}`] },
    { text: meta },
    {
      text: `INSERT INTO ${n.meta} (id, epoch) VALUES (true, $1) ON CONFLICT (id) DO NOTHING`,
      values: [epoch],
    },
    ...rest.map((text) => ({ text })),
  ];
}

/** Orders and publishes a batch: `$1`..`$7` as the function's arguments; returns the last seq. */
export function publishStatement(prefix: string): string {
  return `SELECT ${names(prefix).publish}($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::integer, $7::boolean) AS seq`;
}

/** `json` cut into notification-sized chunks (it is ASCII: a character is a byte). */
export function chunks(json: string): string[] {
  if (json.length <= CHUNK) return [json];
  const out: string[] = [];
  for (let i = 0; i < json.length; i += CHUNK) out.push(json.slice(i, i + CHUNK));
  return out;
}

/** The epoch and the counter: `latest()`, and where a first sync starts. */
export function headStatement(prefix: string): string {
  return `SELECT epoch, seq FROM ${names(prefix).meta}`;
}

/**
 * The health probe of the publishing side: the counter read with its row
 * lock, as a publish takes it (released at once). A plain read succeeds
 * while another transaction holds the lock, so the link would say ready
 * while every publish waits for it and times out.
 */
export function probeStatement(prefix: string): string {
  return `SELECT epoch, seq FROM ${names(prefix).meta} FOR UPDATE`;
}

/**
 * In one snapshot: the epoch, the counter, the highest seq lost from any of
 * the topics `$1` (trimmed, or pruned), and the retained events of those
 * topics after seq `$2`, in order, at most `$3` of each topic (none: one
 * row with a null seq). Each topic's rows come from the `(topic, seq)`
 * index, `$3` at most: a topic holding more is never read in full.
 */
export function historyStatement(prefix: string): string {
  const n = names(prefix);
  return `SELECT m.epoch, m.seq AS head,
      greatest(m.pruned, coalesce((SELECT max(evicted) FROM ${n.topics} WHERE topic = ANY($1::text[])), 0)) AS lost,
      e.seq, e.topic, e.event, e.assigned, e.origin
    FROM ${n.meta} m
    LEFT JOIN LATERAL (
      SELECT r.* FROM (SELECT DISTINCT unnest($1::text[]) AS topic) t
      CROSS JOIN LATERAL (
        SELECT seq, topic, event, assigned, origin FROM ${n.events}
        WHERE topic = t.topic AND seq > $2::bigint
        ORDER BY seq LIMIT $3::integer
      ) r
    ) e ON true
    ORDER BY e.seq`;
}

/**
 * The epoch, and the newest retained event of topic `$1` (its row from the
 * `(topic, seq)` index; none: one row with a null seq).
 */
export function lastStatement(prefix: string): string {
  const n = names(prefix);
  return `SELECT m.epoch, e.seq, e.event, e.assigned
    FROM ${n.meta} m
    LEFT JOIN LATERAL (
      SELECT seq, event, assigned FROM ${n.events} WHERE topic = $1 ORDER BY seq DESC LIMIT 1
    ) e ON true`;
}

/**
 * Deletes the events older than `$1` milliseconds (every event up to the
 * newest such seq, so the cut is one seq for all topics), records that seq
 * as `pruned`, and forgets the per-topic trims below it. Run after locking
 * the meta row, as publishes do first, so that the two never deadlock.
 */
export function pruneStatements(prefix: string, retentionMs: number): Statement[] {
  const n = names(prefix);
  return [
    { text: `SELECT 1 FROM ${n.meta} FOR UPDATE` },
    {
      text: `WITH w AS (
          SELECT max(seq) AS w FROM ${n.events}
          WHERE created < now() - make_interval(secs => $1::double precision / 1000)
        ),
        gone AS (DELETE FROM ${n.events} WHERE seq <= (SELECT w FROM w) RETURNING 1),
        trims AS (DELETE FROM ${n.topics} WHERE evicted <= (SELECT w FROM w) RETURNING 1)
        UPDATE ${n.meta} SET pruned = greatest(pruned, (SELECT w FROM w))
        WHERE (SELECT w FROM w) IS NOT NULL
        RETURNING (SELECT count(*) FROM gone) AS deleted`,
      values: [retentionMs],
    },
  ];
}
