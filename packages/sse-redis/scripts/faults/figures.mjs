// The fault scripts' figures: printed as JSON lines on stdout (a child's last
// line is what its parent reads), and latency percentiles.

/** Prints `figures` as one JSON line on stdout. */
export const print = (figures) => console.log(JSON.stringify(figures));

/** The count, p50, p99 and max of `values` (ms), rounded to 0.01. */
export function percentiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (ms) => Math.round(ms * 100) / 100;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(at(1)) };
}
