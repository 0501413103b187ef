import { optionKeys } from "@burrow/sse-core/adapter";
import { checkOptionKeys, RegistryError } from "./errors.js";
import type { Registry } from "./registry.js";

/** A server {@link handleSignals} can close: `node:http`'s, `https`'s or `http2`'s. */
export interface ClosableServer {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
}

/** Options of {@link handleSignals}. */
export interface HandleSignalsOptions {
  /**
   * Servers to close after the registry shut down.
   * @default []
   */
  servers?: readonly ClosableServer[];
  /**
   * How long a graceful shutdown may take, from the signal; past it, every
   * connection is closed and `exit(1)` is called.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Signals that start the shutdown. A second one while it runs forces it,
   * unless it comes within {@link REPEAT_MS} of the first: that is the same
   * Ctrl-C delivered twice (pnpm forwards the terminal's SIGINT to the script
   * it runs, which the terminal signalled already).
   * @default ["SIGINT", "SIGTERM"]
   */
  signals?: readonly NodeJS.Signals[];
  /**
   * Ends the process when shutdown is forced (timeout or second signal). Never
   * called when shutdown completes: then the process exits by itself.
   * @default (code) => process.exit(code)
   */
  exit?: (code: number) => void;
  /**
   * Receives what went wrong: apps failing to shut down (a
   * {@link RegistryError} listing each), a server failing to close, the timeout.
   * @default logs with console.error and sets process.exitCode = 1
   */
  onError?: (error: unknown) => void;
}

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/**
 * A signal this soon (milliseconds) after the one that started the shutdown
 * is taken as that one delivered twice, and ignored: under `pnpm run`, a
 * Ctrl-C reaches the process from the terminal and again from pnpm.
 */
export const REPEAT_MS = 1000;
/** Every key of {@link HandleSignalsOptions} (a key missing here, or not an option, fails to compile). */
const HANDLE_SIGNALS_OPTIONS = optionKeys<HandleSignalsOptions>()([
  "servers",
  "timeoutMs",
  "signals",
  "exit",
  "onError",
]);

/**
 * Shuts down gracefully on SIGINT/SIGTERM: stops every server accepting
 * connections, runs {@link Registry.shutdown} (the SSE app closes its broker,
 * so every event stream flushes and ends), closes idle keep-alive
 * connections, and waits for every server to close. Then it removes its
 * listeners and lets the process exit by itself, with code 0 (or
 * `process.exitCode`): it never calls `process.exit` on that path, so output
 * is flushed and nothing is cut short. Stop your own timers and jobs in an
 * app's `shutdown()`, or they keep the process alive.
 *
 * If that takes longer than `timeoutMs`, or a second signal arrives (one
 * within {@link REPEAT_MS} of the first is the same one delivered twice, as
 * under `pnpm run`, and ignored), it closes every connection and calls
 * `exit(1)`. An unknown option key is a
 * {@link RegistryError} listing the known ones.
 *
 * @returns a function that removes the signal listeners (and cancels a
 *   pending timeout).
 *
 * @example
 * ```ts
 * const server = app.listen(3000);
 * handleSignals(registry, { servers: [server], timeoutMs: 5_000 });
 * ```
 */
export function handleSignals(registry: Registry, options: HandleSignalsOptions = {}): () => void {
  checkOptionKeys(options, HANDLE_SIGNALS_OPTIONS, "handleSignals");
  const {
    servers = [],
    timeoutMs = 10_000,
    signals = DEFAULT_SIGNALS,
    exit = (code: number) => process.exit(code),
    onError = reportError,
  } = options;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new RegistryError(
      `handleSignals: timeoutMs must be a non-negative number, not ${timeoutMs}`,
    );
  }
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  const force = (): void => {
    for (const server of servers) server.closeAllConnections?.();
    exit(1);
  };

  const stop = async (): Promise<void> => {
    // Stop accepting first, so nothing new arrives at half shut-down apps.
    const closed = servers.map((server) => closeServer(server, onError));
    try {
      await registry.shutdown();
    } catch (err) {
      onError(err);
    }
    for (const server of servers) server.closeIdleConnections?.();
    await Promise.all(closed);
  };

  let startedAt = 0;
  const onSignal = (): void => {
    if (stopping) {
      if (Date.now() - startedAt < REPEAT_MS) return;
      onError(new RegistryError("second signal during shutdown: closing every connection"));
      force();
      return;
    }
    stopping = true;
    startedAt = Date.now();
    timer = setTimeout(() => {
      onError(
        new RegistryError(`shutdown took longer than ${timeoutMs} ms: closing every connection`),
      );
      force();
    }, timeoutMs);
    // The timer only guards: it must not be what keeps the process alive.
    timer.unref();
    void stop().then(() => {
      dispose();
      ignoreRepeats(signals, REPEAT_MS - (Date.now() - startedAt));
    });
  };

  const dispose = (): void => {
    clearTimeout(timer);
    for (const signal of signals) process.removeListener(signal, onSignal);
  };

  for (const signal of signals) process.on(signal, onSignal);
  return dispose;
}

/**
 * For the next `ms`, a repeat of the first signal still on its way (pnpm
 * forwards Ctrl-C a moment after the terminal delivered it) is ignored
 * instead of ending the finished process by the signal's default action.
 * Neither the listener nor its timer keeps the process alive.
 */
function ignoreRepeats(signals: readonly NodeJS.Signals[], ms: number): void {
  if (ms <= 0) return;
  const ignore = (): void => {};
  for (const signal of signals) process.on(signal, ignore);
  setTimeout(() => {
    for (const signal of signals) process.removeListener(signal, ignore);
  }, ms).unref();
}

function closeServer(server: ClosableServer, onError: (error: unknown) => void): Promise<void> {
  return new Promise((resolve) => {
    server.close((err) => {
      // A server that was not listening is closed already: nothing to report.
      if (err && (err as NodeJS.ErrnoException).code !== "ERR_SERVER_NOT_RUNNING") onError(err);
      resolve();
    });
  });
}

function reportError(error: unknown): void {
  console.error(error);
  process.exitCode = 1;
}
