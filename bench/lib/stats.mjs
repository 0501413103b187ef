// Summaries of repeated measurements, shared by the benchmark's reports.

/** The median of the finite values of `xs` (NaN when there are none). */
export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * How far the finite values of `xs` spread around their median: half the
 * distance between the 25th and 75th percentiles, over the median (0.03 is
 * "±3 %"). NaN with fewer than two values.
 */
export function spread(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length < 2) return Number.NaN;
  const at = (q) => {
    const pos = q * (v.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(v.length - 1, lo + 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  return (at(0.75) - at(0.25)) / 2 / median(v);
}

/**
 * `b[i] / a[i]` for every pair of samples taken side by side (NaN where
 * either is not finite or `a[i]` is not positive).
 */
export function pairRatios(a, b) {
  return a.map((x, i) =>
    Number.isFinite(x) && Number.isFinite(b[i]) && x > 0 ? b[i] / x : Number.NaN,
  );
}
