/** Waiting for a backplane to be ready, as the backplane suites and tests do. */
import { waitFor } from "./waits.js";

/**
 * Waits until a backplane (or a broker, through `stats().backplane`) is
 * ready and receives at least `topics` topics.
 */
export async function backplaneReady(
  of: { stats(): { state?: string; topics?: number; backplane?: unknown } },
  topics = 0,
): Promise<void> {
  const stats = () => {
    const all = of.stats();
    return (all.backplane ?? all) as { state?: string; topics?: number };
  };
  await waitFor(
    () => stats().state === "ready" && (stats().topics ?? 0) >= topics,
    "the backplane to be ready",
  );
}
