import pg from "pg";
import { TimeoutError, within } from "./transaction.js";

/** What a {@link Listener} tells its owner. Internal. */
export interface ListenerEvents {
  /** A new connection is up, listening to nothing but its barrier channel. */
  connected(): void;
  /** The connection is gone (or could not be made); another is attempted. */
  lost(error: Error): void;
  /** A notification on a channel this connection listens to. */
  notification(channel: string, payload: string): void;
}

/** Backoff between connection attempts: 100 ms, doubling, at most 2 s. */
function retryDelay(attempt: number): number {
  return Math.min(2000, 100 * 2 ** Math.min(attempt, 5));
}

/**
 * The one connection that LISTENs, kept alive: reconnects by itself, runs
 * its statements one at a time, each bounded by `timeoutMs`, and sends
 * `SELECT 1` every `timeoutMs / 2` while idle, so that a server that hangs
 * (its socket open, nothing answered) is noticed: such a connection is
 * destroyed and replaced. Internal.
 */
export class Listener {
  private client: pg.Client | undefined;
  private connecting = false;
  private attempts = 0;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private lastAnswer = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly pingTimer: NodeJS.Timeout;
  private token = 0;
  /** Barrier tokens awaited, with what settles each. */
  private readonly barriers = new Map<string, { resolve(): void; reject(error: Error): void }>();

  /**
   * @param config - where to connect (node-postgres client config).
   * @param barrierChannel - a channel of this process only, for {@link barrier}.
   */
  constructor(
    private readonly config: pg.ClientConfig,
    private readonly timeoutMs: number,
    private readonly barrierChannel: string,
    private readonly events: ListenerEvents,
  ) {
    this.pingTimer = setInterval(() => this.ping(), Math.max(1, timeoutMs / 2));
    this.pingTimer.unref();
  }

  /** Whether a connection is up now. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Connects (and keeps reconnecting until {@link close}). */
  start(): void {
    if (this.closed || this.connecting || this.client !== undefined) return;
    this.connecting = true;
    const client = new pg.Client({
      application_name: "burrow-sse-listen",
      ...this.config,
      connectionTimeoutMillis: this.timeoutMs,
      keepAlive: true,
      statement_timeout: this.timeoutMs,
    });
    client.on("error", (error: Error) => this.drop(client, error));
    client.on("end", () => this.drop(client, new Error("the listening connection was closed")));
    client.on("notification", (message) => {
      if (this.client !== client) return;
      this.lastAnswer = Date.now();
      if (message.channel === this.barrierChannel)
        this.barriers.get(message.payload ?? "")?.resolve();
      else this.events.notification(message.channel, message.payload ?? "");
    });
    const setUp = async (): Promise<void> => {
      await within(client.connect(), this.timeoutMs, "a connection attempt");
      await within(client.query(`LISTEN "${this.barrierChannel}"`), this.timeoutMs, "LISTEN");
    };
    setUp().then(
      () => {
        this.connecting = false;
        if (this.closed) {
          client.end().catch(() => {});
          return;
        }
        this.client = client;
        this.attempts = 0;
        this.lastAnswer = Date.now();
        this.chain = Promise.resolve();
        this.events.connected();
      },
      (error: Error) => {
        this.connecting = false;
        this.destroy(client);
        if (this.closed) return;
        this.events.lost(error);
        this.retry();
      },
    );
  }

  /**
   * Runs `sql` on the current connection after those sent before it, within
   * `timeoutMs`; past it the connection is taken for hung and replaced.
   * Rejects when there is no connection or it is lost first.
   */
  query(sql: string): Promise<void> {
    const client = this.client;
    if (client === undefined) return Promise.reject(new Error("not connected"));
    this.busy++;
    const run = this.chain.then(async () => {
      if (this.client !== client) throw new Error("the listening connection was lost");
      try {
        await within(client.query(sql), this.timeoutMs, "a statement on the listening connection");
        this.lastAnswer = Date.now();
      } catch (error) {
        if (error instanceof TimeoutError) this.drop(client, error);
        throw error;
      }
    });
    this.chain = run.catch(() => {}).finally(() => this.busy--);
    return run;
  }

  /**
   * Resolves once every notification committed before this call was handed
   * to `notification`: a NOTIFY to this connection's own barrier channel is
   * queued behind them, and PostgreSQL delivers a connection's notifications
   * in commit order.
   */
  async barrier(): Promise<void> {
    const token = String(++this.token);
    const arrived = new Promise<void>((resolve, reject) => {
      this.barriers.set(token, { resolve, reject });
    });
    // A connection lost or hung before the NOTIFY is answered rejects this while nothing awaits
    // it yet: unhandled, that rejection would end the process.
    arrived.catch(() => {});
    try {
      await this.query(`NOTIFY "${this.barrierChannel}", '${token}'`);
      await within(arrived, this.timeoutMs, "the barrier notification");
    } finally {
      this.barriers.delete(token);
    }
  }

  /** Closes the connection; no reconnection after this. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.failBarriers(new Error("closed"));
    if (client !== undefined) {
      await within(client.end(), this.timeoutMs, "closing").catch(() => this.destroy(client));
    }
  }

  /** A health check while idle: a hung server does not answer it, and is noticed. */
  private ping(): void {
    if (this.client === undefined || this.busy > 0) return;
    if (Date.now() - this.lastAnswer < this.timeoutMs / 2) return;
    this.query("SELECT 1").catch(() => {});
  }

  /** Forgets `client` (lost, or hung), reports it once, and reconnects. */
  private drop(client: pg.Client, error: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.destroy(client);
    this.failBarriers(error);
    if (this.closed) return;
    this.events.lost(error);
    this.retry();
  }

  private failBarriers(error: Error): void {
    for (const barrier of this.barriers.values()) barrier.reject(error);
    this.barriers.clear();
  }

  private destroy(client: pg.Client): void {
    const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } })
      .connection?.stream;
    stream?.destroy();
    client.end().catch(() => {});
  }

  private retry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.start(), retryDelay(this.attempts++));
    this.retryTimer.unref();
  }
}
