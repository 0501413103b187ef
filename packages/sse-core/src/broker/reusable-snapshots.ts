import type { OrderPosition } from "../delivery/shown-events.js";
import type { Frame } from "../wire/frame.js";

/** A topic's last snapshot that may still be sent, and the engine's head its render covered. */
export interface ReusableSnapshot {
  readonly frame: Frame;
  /** On a backplane: the head the render covered (its clients skip events up to it). */
  readonly head: OrderPosition | undefined;
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
 * event). One frame per topic with clients, at most. @internal
 */
export class ReusableSnapshots {
  /** Per topic, the render started last, while nothing of its topic came since. */
  private readonly running = new Map<string, object>();
  private readonly done = new Map<string, ReusableSnapshot>();

  /** The snapshot of `topic` still good to send, if any. */
  get(topic: string): ReusableSnapshot | undefined {
    return this.done.get(topic);
  }

  /** A render of `topic` (`render`) starts now. */
  started(topic: string, render: object): void {
    this.running.set(topic, render);
  }

  /** The render `render` of `topic` ended with `frame` (none: it failed): kept if nothing spoiled it. */
  ended(topic: string, render: object, frame: Frame | undefined, head?: OrderPosition): void {
    if (this.running.get(topic) !== render) return;
    this.running.delete(topic);
    if (frame !== undefined) this.done.set(topic, { frame, head });
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
