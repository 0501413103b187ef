import type { OrderPosition } from "../delivery/shown-events.js";
import type { Frame } from "../wire/frame.js";

/** A topic's last snapshot that may still be sent, and the engine's head its render covered. */
export interface ReusableSnapshot {
  readonly frame: Frame;
  /** On a backplane: the head the render covered (its clients skip events up to it). */
  readonly head: OrderPosition | undefined;
}

/** A kept snapshot, and when its render started (on the clock of {@link ReusableSnapshots}). */
interface Kept extends ReusableSnapshot {
  readonly startedAt: number;
}

/**
 * The last snapshot of each topic rendered by its rule (never a client's
 * own), kept while it is as good as a fresh render: from the moment its
 * render started, no event of its topic came to this broker (published here,
 * or received from the backplane) and the topic kept a client. A render
 * covers what its topic had published when it started, so a client that
 * asks later lost nothing it does not show, and events published after it
 * reach that client as they reach the render's own. An event that comes
 * while a render runs spoils that render for reuse (it may not show the
 * event). State the app changed without publishing is not seen here: a
 * snapshot is sent again only while younger than its rule's
 * `snapshotReuseMs`, counted from its render's start. One frame per topic
 * with clients, at most. @internal
 */
export class ReusableSnapshots {
  /** Per topic, the render started last (and when), while nothing of its topic came since. */
  private readonly running = new Map<string, { render: object; startedAt: number }>();
  private readonly done = new Map<string, Kept>();

  /** @param now - a monotonic clock in milliseconds (`performance.now`). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * The snapshot of `topic` still good to send, if any: nothing of its
   * topic came since its render started, less than `reuseMs` ago.
   */
  get(topic: string, reuseMs: number): ReusableSnapshot | undefined {
    const kept = this.done.get(topic);
    if (kept === undefined) return undefined;
    if (this.now() - kept.startedAt < reuseMs) return kept;
    this.done.delete(topic);
    return undefined;
  }

  /** A render of `topic` (`render`) starts now. */
  started(topic: string, render: object): void {
    this.running.set(topic, { render, startedAt: this.now() });
  }

  /** The render `render` of `topic` ended with `frame` (none: it failed): kept if nothing spoiled it. */
  ended(topic: string, render: object, frame: Frame | undefined, head?: OrderPosition): void {
    const running = this.running.get(topic);
    if (running === undefined || running.render !== render) return;
    this.running.delete(topic);
    if (frame !== undefined) this.done.set(topic, { frame, head, startedAt: running.startedAt });
  }

  /** An event of `topic` came, or its last client left: nothing rendered of it so far is reused. */
  spoil(topic: string): void {
    if (this.running.size > 0) this.running.delete(topic);
    if (this.done.size > 0) this.done.delete(topic);
  }

  /** Nothing rendered so far is reused (the backplane's link changed state). */
  clear(): void {
    this.running.clear();
    this.done.clear();
  }
}
