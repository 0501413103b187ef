import type { Frame } from "../wire/frame.js";
import type { Client } from "./client.js";
import { Delivery } from "./live-queue.js";

/** Where a resume reads local history, and tells of a gap. @internal */
export interface HistorySource {
  /** Up to `limit` retained events of `topics` after `cursor`; `gapped`, the topics some were evicted of. */
  after(
    topics: readonly string[],
    cursor: number,
    limit: number,
  ): { frames: Frame[]; gap: boolean; gapped?: readonly string[] };
  /**
   * Events of `topics` were evicted before `client` read them: those that
   * can be are repaired (returned: no longer read from history), the miss
   * is counted, and `tell` is the frame that tells the client, if any.
   */
  gap(client: Client, topics: readonly string[]): { repaired: readonly string[]; tell?: Frame };
}

/**
 * The part of a backplane resume that a process keeps itself (its local
 * topics): their missed events, read from its history, written after the
 * replay; and how a local event is sent after a replay that reached a seq.
 * @internal
 */
export interface KeptPart {
  readonly frames: readonly Frame[];
  after(frame: Frame, seq: number): Frame;
}

/** The state of a {@link Resume}; a client that is live has none. */
type ResumeState =
  /** Reading local history after `cursor`, a batch per write; live events are in history too. */
  | {
      readonly kind: "history";
      readonly source: HistorySource;
      readonly client: Client;
      /** The topics read from history (those repaired, or of state, are not). */
      topics: readonly string[];
      cursor: number;
      gapTold: boolean;
    }
  /** A backplane's replay is on its way: live events are held (up to the room). */
  | { readonly kind: "awaiting"; readonly held: Frame[]; readonly kept?: KeptPart }
  /** The replay, then the held live events after it, being written from `at`. */
  | { readonly kind: "replaying"; readonly frames: Frame[]; at: number };

/**
 * One client's way back after `Last-Event-ID`: what it missed, in order,
 * before it goes live. Local history feeds it batch by batch (the events
 * stay in history, so live ones need no holding); a backplane feeds it once,
 * when its replay arrives, and until then live events are held, at most
 * `room` of them, the overlap removed by seq. The client reads it with
 * {@link Resume.read} until it reports caught up. @internal
 */
export class Resume {
  private constructor(
    private state: ResumeState,
    /** Live events that may still be held before they are dropped. */
    private room: number,
  ) {}

  /** A resume of `topics` (default: all the client's) from local history after `cursor`. */
  static fromHistory(
    source: HistorySource,
    client: Client,
    cursor: number,
    topics: readonly string[] = client.topics,
  ): Resume {
    return new Resume({ kind: "history", source, client, topics, cursor, gapTold: false }, 0);
  }

  /** Whether live events of `topic` go through this resume (else straight to the live queue). */
  covers(topic: string): boolean {
    const state = this.state;
    return (
      state.kind !== "history" ||
      state.topics === state.client.topics ||
      state.topics.includes(topic)
    );
  }

  /**
   * A resume whose replay a backplane will {@link Resume.feed}; holds up to
   * `room` live events meanwhile. `kept`: its local topics' part, if any.
   */
  static awaiting(room: number, kept?: KeptPart): Resume {
    return new Resume({ kind: "awaiting", held: [], kept }, room);
  }

  /** True while a backplane's replay is still on its way: nothing of it can be written yet. */
  get awaiting(): boolean {
    return this.state.kind === "awaiting";
  }

  /** True while a backplane's replay is being written: a live event held now is readable at once. */
  get replaying(): boolean {
    return this.state.kind === "replaying";
  }

  /** A live event published during the resume: read later from history, held, or dropped (no room). */
  offer(frame: Frame): Delivery {
    const state = this.state;
    if (state.kind === "history") return Delivery.Queued;
    if (this.room <= 0) return Delivery.Dropped;
    this.room--;
    if (state.kind === "awaiting") state.held.push(frame);
    else state.frames.push(frame);
    return Delivery.Queued;
  }

  /**
   * A backplane's replay arrived (`frames`, in order, after `afterSeq`):
   * they are written first, then the held live events that come after them.
   * False when no replay was awaited.
   */
  feed(frames: readonly Frame[], afterSeq: number): boolean {
    const state = this.state;
    if (state.kind !== "awaiting") return false;
    let last = afterSeq;
    for (const frame of frames) if (frame.seq > last) last = frame.seq;
    const all = frames.slice();
    const kept = state.kept;
    if (kept !== undefined) for (const frame of kept.frames) all.push(kept.after(frame, last));
    let duplicates = 0;
    for (const frame of state.held) {
      // The overlap between replay and live by seq; seq 0 (published locally only) and local
      // topics' events (numbered by this process) are no part of the replay.
      if (frame.rule?.local === true)
        all.push(kept === undefined ? frame : kept.after(frame, last));
      else if (frame.seq === 0 || frame.seq > last) all.push(frame);
      else duplicates++;
    }
    // Held duplicates no longer take room.
    this.room += duplicates;
    this.state = { kind: "replaying", frames: all, at: 0 };
    return true;
  }

  /** Adds the next (at most `limit`) missed events to `into`; true once caught up (live from now). */
  read(limit: number, into: Frame[]): boolean {
    const state = this.state;
    switch (state.kind) {
      case "awaiting":
        return false;
      case "replaying": {
        const end = Math.min(state.frames.length, state.at + limit);
        for (let i = state.at; i < end; i++) into.push(state.frames[i]!);
        state.at = end;
        return end === state.frames.length;
      }
      case "history": {
        const batch = state.source.after(state.topics, state.cursor, limit);
        let frames = batch.frames;
        if (batch.gap && !state.gapTold) {
          const { repaired, tell } = state.source.gap(state.client, batch.gapped ?? []);
          if (repaired.length > 0) {
            // Their snapshots replace what history lost: no longer read from it.
            state.topics = state.topics.filter((topic) => !repaired.includes(topic));
            frames = frames.filter((frame) => !repaired.includes(frame.topic));
          }
          if (tell !== undefined || repaired.length < (batch.gapped?.length ?? 0)) {
            state.gapTold = true;
            if (tell !== undefined) into.push(tell);
          }
        }
        const last = batch.frames[batch.frames.length - 1];
        for (const frame of frames) into.push(frame);
        if (last === undefined) return true;
        state.cursor = last.seq;
        // A batch of repaired topics only: read on (a caller that gets nothing stops asking).
        return frames.length === 0 ? this.read(limit, into) : false;
      }
    }
  }
}
