/**
 * The link to PostgreSQL: the pool that publishes and reads history (the
 * backplane's own, or the app's), the one connection that LISTENs (the
 * {@link Listener}), the probe that creates the tables and checks that the
 * publishing side answers, and the state machine that derives
 * `"connecting"` / `"ready"` / `"down"` / `"closed"` from them, reporting
 * each change once and logging it (see {@link PostgresLinkLog}); and the
 * `ready()` waits on it. Internal.
 */
import type { BackplaneReport, BackplaneState } from "@burrow/sse-core";
import { nextBackplaneState } from "@burrow/sse-core/adapter";
import pg from "pg";
import type { HistorySource } from "./history-reader.js";
import type { PostgresLinkLog } from "./link-log.js";
import { Listener } from "./listener.js";
import type { ResolvedOptions } from "./options.js";
import { LinkReadiness, type ReadyOptions } from "./readiness.js";
import { probeStatement, schemaCheckStatement, schemaStatements } from "./schema.js";
import { isTimeout, transaction } from "./transaction.js";

/** SQLSTATEs saying the backplane's tables or function are missing: create them again. */
const MISSING_SCHEMA = new Set(["42P01", "42883"]);

/** What the {@link Link} tells the backplane that composes it. */
export interface LinkHooks {
  /** A new listening connection is up, or the tables are there now: the listener may be synced. */
  sync(): void;
  /** The listening connection is gone: its LISTENs and its notifications in progress with it. */
  listenerLost(): void;
  /** A notification on a channel the listening connection listens to. */
  notification(channel: string, payload: string): void;
  /** The state changed to `state` (called before the change is logged). */
  changed(state: BackplaneState): void;
}

/** The pool, the listening connection and the link's state. Internal. */
export class Link {
  /** The state now; changes only in {@link update} and {@link close}. */
  state: BackplaneState = "connecting";
  /**
   * The listening connection is up, listens to every watched topic, and
   * caught up; set by the backplane's recovery, cleared when it is lost.
   */
  synced = false;
  /** The tables exist (else the probe creates them). */
  schemaReady = false;
  /** Counts listening connections, so a catch-up knows it is still on its own. */
  generation = 0;
  /** The pool, once attached. */
  pool: pg.Pool | undefined;
  /** The pool is the backplane's own, its sessions bounded by `timeoutMs` from the start. */
  ownPool = false;
  /** The listening connection, once attached. */
  listener: Listener | undefined;
  /** The last error seen, if any. */
  lastError: Error | undefined;
  /** Times the link went down (or failed to come up), ever. */
  errors = 0;
  /** Statements and connection attempts left unanswered past `timeoutMs`, ever. */
  timeouts = 0;
  /** The tables exist and the publishing side answers. */
  private publisherUp = false;
  private probing = false;
  private probeAttempts = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private reportTo: ((report: BackplaneReport) => void) | undefined;
  private readonly readiness: LinkReadiness;

  /**
   * @param where - the database, as messages name it (no password).
   * @param origin - this process's random id: its barrier channel, and a new epoch's seed.
   */
  constructor(
    private readonly options: ResolvedOptions,
    where: string,
    private readonly origin: string,
    private readonly log: PostgresLinkLog,
    private readonly hooks: LinkHooks,
  ) {
    this.readiness = new LinkReadiness(where, () => ({
      state: this.state,
      refusal: this.log.refusal,
      lastError: this.lastError,
    }));
  }

  /** Opens the pool (unless the app gave one) and the listening connection; state changes go to `report`. */
  connect(report: ((report: BackplaneReport) => void) | undefined): void {
    this.reportTo = report;
    if (this.state === "closed") return;
    const { connectionString, pool, listenConnectionString, timeoutMs, maxReplays, prefix } =
      this.options;
    this.pool =
      pool ??
      new pg.Pool({
        application_name: "burrow-sse",
        connectionString,
        // One statement publishes at a time; replays take at most maxReplays more.
        max: maxReplays + 2,
        connectionTimeoutMillis: timeoutMs,
        keepAlive: true,
        // Every statement bounded on the server from the session's start: one round trip each.
        statement_timeout: timeoutMs,
        lock_timeout: timeoutMs,
        idle_in_transaction_session_timeout: timeoutMs,
      });
    this.ownPool = pool === undefined;
    if (pool === undefined) this.pool.on("error", (error: Error) => this.fail(error));
    const listenConfig: pg.ClientConfig =
      listenConnectionString !== undefined
        ? { connectionString: listenConnectionString }
        : pool !== undefined
          ? { ...(pool as unknown as { options: pg.ClientConfig }).options }
          : { connectionString };
    this.listener = new Listener(listenConfig, timeoutMs, `${prefix}b_${this.origin}`, {
      connected: () => {
        this.generation++;
        this.hooks.sync();
      },
      lost: (error) => {
        this.synced = false;
        this.hooks.listenerLost();
        this.noteError(error);
        this.fail(error);
      },
      notification: (channel, payload) => this.hooks.notification(channel, payload),
    });
    this.listener.start();
    this.probe();
  }

  /** Whether the listening connection is up now. */
  get listening(): boolean {
    return this.listener?.connected === true;
  }

  /** Where history is read: the pool (attached), the prefix, the statements' bound. */
  history(): HistorySource {
    const { prefix, timeoutMs } = this.options;
    return { pool: this.pool!, prefix, timeoutMs, sessionBounded: this.ownPool };
  }

  /** See `PostgresBackplane.ready()`. */
  ready(options?: ReadyOptions): Promise<void> {
    return this.readiness.wait(options);
  }

  /** Counts a timeout. */
  noteError(error: Error): void {
    if (isTimeout(error)) this.timeouts++;
  }

  /** Records `error` as the last one (a configuration refused is logged), and recomputes the state. */
  fail(error: Error): void {
    this.lastError = error;
    // A configuration refused is logged here, once per distinct one; outages once per change.
    this.log.failed(error);
    this.update();
  }

  /** A publish batch failed with `error`: the publishing side is down until the probe answers. */
  publishFailed(error: Error): void {
    const code = (error as { code?: string }).code;
    if (code !== undefined && MISSING_SCHEMA.has(code)) this.schemaReady = false;
    this.noteError(error);
    this.publisherUp = false;
    this.fail(error);
    this.log.batchFailed(error);
  }

  /** Tells the broker's observers (see `BackplaneHost.report`); never throws. */
  report(report: BackplaneReport): void {
    try {
      this.reportTo?.(report);
    } catch {
      // An observer's failure is not the link's.
    }
  }

  /**
   * Checks the publishing side, creating the tables first if they are
   * missing, until it answers; then syncs the listener (a first sync may
   * have waited for the tables).
   */
  probe(): void {
    if (this.probing || this.publisherUp || this.state === "closed") return;
    this.probing = true;
    clearTimeout(this.probeTimer);
    const { prefix, timeoutMs } = this.options;
    const run = async (): Promise<void> => {
      if (!this.schemaReady) {
        const [check] = await transaction(
          this.pool!,
          timeoutMs,
          [schemaCheckStatement(prefix)],
          this.ownPool,
        );
        if (check?.rows[0]?.ready !== true) {
          const epoch = `${Date.now().toString(36)}${this.origin.slice(0, 4)}`;
          await transaction(this.pool!, timeoutMs, schemaStatements(prefix, epoch));
        }
        this.schemaReady = true;
      }
      await transaction(this.pool!, timeoutMs, [{ text: probeStatement(prefix) }], this.ownPool);
    };
    run().then(
      () => {
        this.probing = false;
        this.probeAttempts = 0;
        this.publisherUp = true;
        this.hooks.sync();
      },
      (error: Error) => {
        this.probing = false;
        this.noteError(error);
        this.fail(error);
        if (this.state === "closed") return;
        const delay = Math.min(2000, 100 * 2 ** Math.min(this.probeAttempts++, 5));
        this.probeTimer = setTimeout(() => this.probe(), delay);
        this.probeTimer.unref();
      },
    );
  }

  /** Recomputes the state; reports and logs a change once; settles `ready()` calls. */
  update(): void {
    if (this.state === "closed") return;
    const next = nextBackplaneState(
      this.state,
      this.publisherUp && this.synced && this.listening,
      this.lastError !== undefined,
    );
    if (next !== this.state) {
      const previous = this.state;
      this.state = next;
      this.report({ kind: "state", state: next, previous });
      if (next === "down") this.errors++;
      this.hooks.changed(next);
      this.log.changed(previous, next, this.lastError);
    }
    this.readiness.check();
  }

  /** The state is `"closed"` from now: reported, and told to `ready()` calls. */
  markClosed(): void {
    const previous = this.state;
    this.state = "closed";
    this.report({ kind: "state", state: "closed", previous });
    this.readiness.check();
    clearTimeout(this.probeTimer);
  }

  /**
   * Closes the listening connection, and the pool it made (an app's own
   * `pool` stays open) once `presence` (its last statements) settled.
   */
  async close(presence: Promise<void> | undefined): Promise<void> {
    const closing: Promise<unknown>[] = [];
    if (this.listener !== undefined) closing.push(this.listener.close());
    await presence;
    if (this.pool !== undefined && this.options.pool === undefined) {
      closing.push(this.pool.end().catch(() => {}));
    }
    await Promise.all(closing);
  }
}
