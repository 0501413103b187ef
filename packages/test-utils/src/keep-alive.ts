/**
 * Shutdown of server examples run as their own process, with a keep-alive
 * long enough that a server leaving idle connections open visibly hangs
 * (instead of exiting after Node's 5 s keep-alive timeout).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { pathToFileURL } from "node:url";

const preload = pathToFileURL(new URL("./fixtures/long-keep-alive.mjs", import.meta.url).pathname);

/** How long a stopped server may take to exit: far below the ten-minute keep-alive. */
const HANG_MS = 20_000;

/**
 * Environment for `startExample` that loads `fixtures/long-keep-alive.mjs`
 * first: every `node:http` server of the process keeps an idle keep-alive
 * connection ten minutes.
 */
export function longKeepAlive(): Record<string, string> {
  const options = process.env.NODE_OPTIONS ?? "";
  return { NODE_OPTIONS: `${options} --import ${preload.href}`.trim() };
}

/**
 * Sends SIGTERM to `child` and resolves with its exit code; rejects if it
 * still runs 20 s later. Not a timing check: started with
 * {@link longKeepAlive}, a server that leaves a connection idle instead of
 * closing it runs ten minutes.
 */
export async function stopWithinBound(child: ChildProcess): Promise<number | null> {
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`still running ${HANG_MS / 1000} s after SIGTERM: a connection left open?`),
        ),
      HANG_MS,
    );
  });
  try {
    const [code] = await Promise.race([exited, hang]);
    return code as number | null;
  } finally {
    clearTimeout(timer);
  }
}
