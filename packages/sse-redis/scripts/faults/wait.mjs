// Waiting, for the fault scripts: a pause, and a poll until something holds.

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` every 5 ms until it holds; throws after `ms` naming `what` it waited for. */
export async function until(predicate, what, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
