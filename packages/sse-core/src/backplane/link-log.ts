/**
 * What a backplane's link logs, in the same words for every engine: why it
 * is down, once per cause until it is ready again (an outage once, each
 * configuration refused once, however often it is retried), the
 * reconnection, and the events a reconnection could not recover.
 */
import type { BackplaneLogger } from "./backplane-options.js";

/** What a link that is not ready costs, as every down line says it. */
const WHILE_DOWN =
  "events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until";

/**
 * The log lines of one backplane's link, each prefixed with its package
 * (`sse-redis: ...`), naming its engine and where it is.
 *
 * @example
 * ```ts
 * const log = new LinkLog(logger, "sse-redis", "Redis", "redis://127.0.0.1:6379");
 * log.unreachable("connect ECONNREFUSED"); // logged
 * log.unreachable("connect ECONNREFUSED"); // not again until ready()
 * log.ready();
 * log.reconnected(3); // "sse-redis: reconnected to Redis at ...; 3 event(s) ..."
 * ```
 */
export class LinkLog {
  /** The causes logged since the link was last ready. */
  private readonly logged = new Set<string>();

  /**
   * @param logger - where lines go (none: nothing is logged).
   * @param source - the package, which starts every line.
   * @param engine - the engine's name (`"Redis"`, `"PostgreSQL"`).
   * @param where - where the engine is, as lines name it (no password).
   */
  constructor(
    private readonly logger: BackplaneLogger | undefined,
    private readonly source: string,
    private readonly engine: string,
    private readonly where: string,
  ) {}

  /** Logs `message` as an error, prefixed with the package. */
  error(message: string): void {
    this.logger?.error(`${this.source}: ${message}`);
  }

  /** Logs `message` as information, prefixed with the package. */
  info(message: string): void {
    this.logger?.info(`${this.source}: ${message}`);
  }

  /** Logs `message` as an error unless `cause` was logged since the link was last ready. */
  once(cause: string, message: string): void {
    if (this.logged.has(cause)) return;
    this.logged.add(cause);
    this.error(message);
  }

  /**
   * The link is down for `what`, until `until` (what brings it back): once
   * until it is ready again; says what it costs meanwhile.
   */
  down(what: string, until: string): void {
    this.once("down", `${what}; ${WHILE_DOWN} ${until}`);
  }

  /** The engine is unreachable (`cause`: the last error's message): see {@link LinkLog.down}. */
  unreachable(cause: string): void {
    this.down(`${this.engine} at ${this.where} is unreachable (${cause})`, "it is back");
  }

  /** The link is ready: every cause may be logged again. */
  ready(): void {
    this.logged.clear();
  }

  /** The link is ready after it was down; `localOnly` events were delivered here only meanwhile. */
  reconnected(localOnly: number): void {
    this.info(
      `reconnected to ${this.engine} at ${this.where}; ${localOnly} event(s) published here meanwhile reached this process's clients only`,
    );
  }

  /** A catch-up could not read what was missed, for `reason` (the engine's likely ones). */
  gap(reason: string): void {
    this.error(
      `events published on other processes while this one was cut from ${this.engine} at ${this.where} could not be recovered (${reason}); clients here may have missed some`,
    );
  }
}
