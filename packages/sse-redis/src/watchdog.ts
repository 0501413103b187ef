import type { Redis } from "ioredis";

/**
 * Notices a Redis connection that stops answering without closing (a hung
 * server, a network cut without a reset): such a connection stays open and
 * ioredis waits for it forever. The watchdog PINGs it every `timeoutMs / 2`
 * and, when it has had a command or a PING outstanding and received nothing
 * for `timeoutMs`, or has been stuck in its handshake that long, destroys its
 * socket: ioredis then fails what was pending and reconnects. Internal.
 */
export class Watchdog {
  /** When the connection last received anything, or last (re)connected. */
  private lastHeard = 0;
  /** When the outstanding PING was sent; 0 when none is. */
  private probeSentAt = 0;
  private lastProbe = 0;
  private verdictPending = false;
  /** The last socket this watchdog destroyed. */
  private closed: unknown;

  /**
   * @param onHang - called (before the socket is destroyed) with the reason,
   * once per hung socket.
   */
  constructor(
    private readonly redis: Redis,
    private readonly timeoutMs: number,
    private readonly onHang: (error: Error) => void,
  ) {
    redis.on("connect", () => {
      this.lastHeard = Date.now();
      this.probeSentAt = 0;
      redis.stream?.on("data", this.heard);
    });
  }

  /** Whether the connection's current socket is one this watchdog destroyed (not replaced yet). */
  get closedCurrent(): boolean {
    return this.closed !== undefined && this.redis.stream === this.closed;
  }

  private readonly heard = (): void => {
    this.lastHeard = Date.now();
  };

  /** Called every `timeoutMs / 4` by its owner. */
  check(now: number): void {
    if (this.overdue(now) !== undefined) {
      this.suspect();
      return;
    }
    if (this.redis.status !== "ready" || this.probeSentAt !== 0) return;
    if (now - this.lastProbe < this.timeoutMs / 2) return;
    const sentAt = now;
    this.probeSentAt = sentAt;
    this.lastProbe = sentAt;
    const settle = (): void => {
      if (this.probeSentAt === sentAt) this.probeSentAt = 0;
    };
    this.redis.ping().then(settle, settle);
  }

  /** What the connection failed to do in time, if it looks hung. */
  private overdue(now: number): string | undefined {
    const status = this.redis.status;
    if (status === "connect") {
      // TCP is up but the handshake (CLIENT SETNAME, the ready check) is unanswered.
      return now - this.lastHeard > this.timeoutMs ? "did not complete its handshake" : undefined;
    }
    if (status !== "ready" || this.probeSentAt === 0) return undefined;
    return now - Math.max(this.probeSentAt, this.lastHeard) > this.timeoutMs
      ? "did not answer a PING"
      : undefined;
  }

  /**
   * Destroys the socket if it still looks hung once this turn of the event
   * loop has read what is already there: an event loop that was busy for
   * `timeoutMs` (a long GC, a slow handler) is not mistaken for a hung Redis.
   */
  private suspect(): void {
    if (this.verdictPending) return;
    this.verdictPending = true;
    const stream = this.redis.stream;
    setImmediate(() => {
      this.verdictPending = false;
      if (this.redis.stream !== stream || stream.destroyed) return;
      const what = this.overdue(Date.now());
      if (what === undefined) return;
      const error = new Error(
        `no answer for ${this.timeoutMs} ms: the connection ${what} (Redis hung, or the network is cut)`,
      );
      this.onHang(error);
      this.closed = stream;
      stream.destroy(error);
    });
  }
}
