import { formatEventId, parseEventId } from "../backplane/event-id.js";
import { type Frame, frameWithId } from "../wire/frame.js";
import { History } from "./history.js";
import type { ReceivedPosition } from "./received-position.js";
import type { TopicRules } from "./topic-rules.js";

/** Between the backplane part of a local event's id and its local part. */
const SEPARATOR = "~";

/** The two parts of an id a client resumes from (see {@link LocalTopics}). */
export interface SplitId {
  /** A position in the backplane's order (`<epoch>-<seq>`, or any id of a backplane topic); none when unknown. */
  readonly backplane: string | undefined;
  /** A position in this process's history of local topics; none for an id without one. */
  readonly local: string | undefined;
}

/**
 * The history of the topics a broker on a backplane keeps on its process
 * (`local: true`), and their ids. A local event's id names two positions,
 * `<backplane id>~<local id>`: the backplane's latest event this process
 * had received when it was published (what a client that saw it had seen
 * of its backplane topics), and its own place in this process's history.
 * A client of both kinds of topic whose last event was a local one thus
 * resumes its backplane topics exactly on any process, and its local ones
 * on this process; from a backplane event's id, its local topics have no
 * position (a miss: repaired, or told). @internal
 */
export class LocalTopics {
  /** The last `historySize` events of each local topic, in this process's memory. */
  readonly history: History;

  constructor(
    historySize: number,
    private readonly rules: TopicRules,
    private readonly received: ReceivedPosition,
  ) {
    // Two processes started in the same millisecond must not read each other's ids as theirs.
    const epoch = Date.now().toString(36) + Math.floor(Math.random() * 36 ** 2).toString(36);
    this.history = new History(historySize, epoch);
  }

  /** The local topics of `topics`. */
  of(topics: readonly string[]): string[] {
    return topics.filter((topic) => this.rules.local(topic));
  }

  /** The id of the local event at `seq`. */
  idFor(seq: number): string {
    return `${this.received.id() ?? ""}${SEPARATOR}${this.history.idFor(seq)}`;
  }

  /** A cursor naming both the backplane's `latest` id and this process's latest local event (none without `latest`). */
  cursor(latest: string | undefined): string | undefined {
    return latest === undefined ? undefined : `${latest}${SEPARATOR}${this.history.cursor()}`;
  }

  /** The backplane part and the local part of `id` (an id of a backplane event has no local part). */
  static split(id: string): SplitId {
    const at = id.indexOf(SEPARATOR);
    if (at === -1) return { backplane: id, local: undefined };
    return { backplane: at === 0 ? undefined : id.slice(0, at), local: id.slice(at + 1) };
  }

  /**
   * `frame` (a local event) as sent to a client after a backplane replay
   * that reached `seq` (of `epoch` when the frame's id names none): its
   * backplane part is moved up to `seq` when it is behind, so that a
   * resume from it does not send the replayed events again.
   */
  static after(frame: Frame, seq: number, epoch: string | undefined): Frame {
    const id = frame.event.id;
    if (id === undefined || seq === 0) return frame;
    const { backplane, local } = LocalTopics.split(id);
    if (local === undefined) return frame;
    const position = backplane === undefined ? undefined : parseEventId(backplane);
    if (position !== undefined && position.seq >= seq) return frame;
    const at = position?.epoch ?? epoch;
    if (at === undefined) return frame;
    return frameWithId(frame, `${formatEventId(at, seq)}${SEPARATOR}${local}`);
  }
}
