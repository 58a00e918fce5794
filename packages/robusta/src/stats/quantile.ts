// Sample quantiles by linear interpolation between order statistics — Hyndman & Fan's definition 7
// ("Sample quantiles in statistical packages", The American Statistician 1996), the default of
// numpy.quantile / numpy.percentile and of R's quantile():
//   h = (n − 1)·q,  Q(q) = x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)   (0-based order statistics x₍ₖ₎)
// Used for the percentile bootstrap interval.

/** The q-quantile (0 ≤ q ≤ 1) of values sorted in ascending order; NaN for an empty list. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantileSorted: q must lie in [0, 1], got ${q}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (h - lo) * (b - a);
}
