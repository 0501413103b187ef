import type { RepairTarget } from "../delivery/repairs.js";
import type { RepairReason } from "../wire/topic-policy.js";

/** One topic's line: the clients waiting for its next job, and whether one is queued or running. */
export interface TopicLine {
  /** Clients waiting for the next job, each with why. */
  waiting: Map<RepairTarget, RepairReason>;
  /** True while the next job is queued (a microtask), or one runs. */
  busy: boolean;
}

/**
 * Per-topic jobs done at most one at a time per topic, each for every
 * client waiting when it starts: a client that asks while a job runs waits
 * for the next one. A job starts at the end of the tick in which it was
 * asked for, so every client asking in that tick joins it; when it ends,
 * the next starts if anyone waits, else the topic's line is forgotten.
 * The snapshots' renders and the state topics' reads of their latest event
 * are such jobs. @internal
 *
 * @example
 * ```ts
 * const reads = new TopicJobs((topic, line, clients) =>
 *   read(topic, clients).then(() => reads.ended(topic, line)),
 * );
 * reads.join("status", client, "miss", () => ({ waiting: new Map(), busy: false }));
 * ```
 */
export class TopicJobs<L extends TopicLine> {
  private readonly lines = new Map<string, L>();

  /**
   * @param start - runs a job of `topic` for `clients` (taken from the line's waiting); it must call
   *   {@link TopicJobs.ended} once done.
   */
  constructor(
    private readonly start: (
      topic: string,
      line: L,
      clients: Map<RepairTarget, RepairReason>,
    ) => void,
  ) {}

  /** Topics with a line now. */
  get size(): number {
    return this.lines.size;
  }

  /** `topic`'s line, if it has one. */
  get(topic: string): L | undefined {
    return this.lines.get(topic);
  }

  /**
   * `client` waits for the next job of `topic` (queued at the end of this
   * tick if none is); `create` makes the topic's line when it has none.
   */
  join(topic: string, client: RepairTarget, reason: RepairReason, create: () => L): void {
    let line = this.lines.get(topic);
    if (line === undefined) {
      line = create();
      this.lines.set(topic, line);
    }
    line.waiting.set(client, reason);
    if (!line.busy) this.queue(topic, line);
  }

  /** A job of `line` ended (or was skipped): the next one if a client waits, else the line is forgotten. */
  ended(topic: string, line: L): void {
    if (line.waiting.size > 0) {
      this.queue(topic, line);
      return;
    }
    line.busy = false;
    if (this.lines.get(topic) === line) this.lines.delete(topic);
  }

  private queue(topic: string, line: L): void {
    line.busy = true;
    queueMicrotask(() => {
      const clients = line.waiting;
      line.waiting = new Map();
      this.start(topic, line, clients);
    });
  }
}
