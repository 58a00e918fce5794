// Kendall's rank correlation τ-b (Kendall, "The treatment of ties in ranking problems", Biometrika
// 1945), the statistic the robustness-measures study (Kim, Park, Choi & Lee, "Fantastic Robustness
// Measures: The Secrets of Robust Generalization", NeurIPS 2023) reports between each measure and the
// robust generalization gap, computed as scipy.stats.kendalltau(x, y) (variant 'b', method 'auto',
// two-sided) does in SciPy 1.10:
//
//   τ_b = (n_c − n_d) / √((n₀ − t_x) · (n₀ − t_y)),   n₀ = n(n−1)/2,
//
// n_c / n_d = concordant / discordant pairs, t_x = Σ t(t−1)/2 over the groups of t tied x values
// (t_y likewise). Pairs tied in x or y (or both) count in neither n_c nor n_d.
//
// Counting is Knight's O(n log n) algorithm (Knight, "A computer method for calculating Kendall's tau
// with ungrouped data", JASA 1966): sort the pairs by (x, y); count tied runs of x, of y and of (x, y);
// then n_d = the number of strict inversions of y in that order, counted while merge-sorting y.
// Then n_c − n_d = n₀ − t_x − t_y + t_xy − 2 n_d.
//
// The p-value (two-sided, H₀: τ = 0) follows SciPy's method='auto':
//  - no ties in x nor y, and (n ≤ 33 or min(n_d, n₀ − n_d) ≤ 1): exact, from the null distribution of
//    the number of inversions of a random permutation (Mahonian numbers; Kendall, "Rank Correlation
//    Methods", 1970), with SciPy's special cases (n = 2: p = 1; c = n₀/2: p = 1; c ∈ {0, 1} closed form);
//  - otherwise: normal approximation z = (n_c − n_d)/√var with the tie-corrected variance
//      var = (v₀ − v_x − v_y)/18 + 2 t_x t_y / (n(n−1)) + u_x u_y / (9 n(n−1)(n−2)),
//      v₀ = n(n−1)(2n+5), v_x = Σ t(t−1)(2t+5), u_x = Σ t(t−1)(t−2)   (likewise for y),
//    p = erfc(|z|/√2).
//
// Differences from SciPy, on purpose: pairs where x or y is NaN are dropped first (SciPy's default
// nan_policy='propagate' would return NaN; its 'omit' drops the same pairs and, through
// scipy.stats.mstats, gives the same τ and p up to rounding). After dropping, n < 2 or a
// constant side (all pairs tied in x, or in y) gives τ = NaN and p = NaN, as SciPy does.

import { normalTwoSidedP } from './normal.js';

/** Kendall's τ-b with its two-sided p-value; `n` is the number of pairs used (after dropping NaNs). */
export interface KendallResult {
  tau: number;
  pValue: number;
  n: number;
}

/**
 * Kendall's τ-b between x and y, and its two-sided p-value, as scipy.stats.kendalltau (SciPy 1.10,
 * defaults) computes them, after dropping the pairs where x or y is NaN. O(n log n).
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): KendallResult {
  if (x.length !== y.length) throw new RangeError(`kendallTauB: x has ${x.length} values, y has ${y.length}`);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    xs.push(a);
    ys.push(b);
  }
  const n = xs.length;
  if (n < 2) return { tau: NaN, pValue: NaN, n };

  // Order by (x, y); then replace values by dense ranks so that ties are exact integer comparisons
  // (−0 and 0 are one value, as in NumPy).
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => compare(xs[i]!, xs[j]!) || compare(ys[i]!, ys[j]!));
  const rx = new Int32Array(n);
  const ry = new Int32Array(n);
  denseRanks(order.map((i) => xs[i]!), rx);
  // y ranks need their own order (by y alone); map them back onto the (x, y) order.
  const yOrder = Array.from({ length: n }, (_, i) => i);
  yOrder.sort((i, j) => compare(ys[i]!, ys[j]!));
  const yRankOf = new Int32Array(n);
  const yDense = new Int32Array(n);
  denseRanks(yOrder.map((i) => ys[i]!), yDense);
  for (let k = 0; k < n; k++) yRankOf[yOrder[k]!] = yDense[k]!;
  for (let k = 0; k < n; k++) ry[k] = yRankOf[order[k]!]!;

  const tx = tieStats(rx);
  const ty = tieStats(sortedCopy(ry));
  let txy = 0; // pairs tied in both x and y: runs of equal (x, y) in the (x, y) order
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && rx[end] === rx[start] && ry[end] === ry[start]) end++;
    const t = end - start;
    txy += (t * (t - 1)) / 2;
    start = end;
  }
  const discordant = countInversions(ry);

  const total = (n * (n - 1)) / 2;
  if (tx.pairs === total || ty.pairs === total) return { tau: NaN, pValue: NaN, n };

  const conMinusDis = total - tx.pairs - ty.pairs + txy - 2 * discordant;
  const tauRaw = conMinusDis / Math.sqrt(total - tx.pairs) / Math.sqrt(total - ty.pairs);
  const tau = Math.min(1, Math.max(-1, tauRaw)); // rounding can step just outside [−1, 1]

  const noTies = tx.pairs === 0 && ty.pairs === 0;
  let pValue: number;
  if (noTies && (n <= 33 || Math.min(discordant, total - discordant) <= 1)) {
    pValue = kendallExactTwoSidedP(n, total - discordant);
  } else {
    const m = n * (n - 1);
    const variance =
      (m * (2 * n + 5) - tx.v1 - ty.v1) / 18 + (2 * tx.pairs * ty.pairs) / m + (tx.v0 * ty.v0) / (9 * m * (n - 2));
    pValue = normalTwoSidedP(conMinusDis / Math.sqrt(variance));
  }
  return { tau, pValue, n };
}

/**
 * Two-sided exact p-value of c concordant pairs among n untied pairs: 2·P(C ≤ min(c, n₀ − c)) under
 * H₀ (all n! orders equally likely), capped at 1. P(C = k) is the number of permutations of n items
 * with k inversions over n!, built by the recurrence I(j, k) = Σ_{i=0}^{min(k, j−1)} I(j−1, k−i),
 * kept only up to k = c and scaled by 1/j at each step so that n! never overflows. Special cases as
 * in SciPy 1.10.
 */
export function kendallExactTwoSidedP(n: number, concordant: number): number {
  const total = (n * (n - 1)) / 2;
  const c = Math.min(concordant, total - concordant);
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`kendallExactTwoSidedP: n must be a positive integer, got ${n}`);
  if (c < 0 || 4 * c > n * (n - 1)) throw new RangeError(`kendallExactTwoSidedP: c = ${concordant} is out of range for n = ${n}`);
  let p: number;
  if (n <= 2) p = 1;
  else if (c === 0) p = n < 171 ? 2 / factorial(n) : 0;
  else if (c === 1) p = n < 172 ? 2 / factorial(n - 1) : 0;
  else if (4 * c === n * (n - 1)) p = 1; // c is the centre of a symmetric distribution
  else {
    // P(C = k) for k = 0..c, by the recurrence on probabilities: each step j is a prefix sum (the
    // last of j items adds 0..j−1 inversions) minus what fell out of the window, divided by j.
    let probs = new Float64Array(c + 1);
    probs[0] = 1;
    probs[1] = 1;
    for (let j = 3; j <= n; j++) {
      const next = new Float64Array(c + 1);
      let prefix = 0;
      for (let k = 0; k <= c; k++) {
        prefix += probs[k]!;
        next[k] = prefix;
      }
      if (j <= c) for (let k = c; k >= j; k--) next[k]! -= next[k - j]!;
      for (let k = 0; k <= c; k++) next[k]! /= j;
      probs = next;
    }
    // The recurrence starts at j = 2 with counts (1, 1) = 2!·P, so probs[k] = 2·P(C = k): their sum is
    // the two-sided p-value.
    let sum = 0;
    for (let k = 0; k <= c; k++) sum += probs[k]!;
    p = sum;
  }
  return Math.min(1, Math.max(0, p));
}

function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Dense ranks (1, 2, …) of already sorted values. */
function denseRanks(sorted: readonly number[], out: Int32Array): void {
  let rank = 0;
  for (let k = 0; k < sorted.length; k++) {
    if (k === 0 || sorted[k] !== sorted[k - 1]) rank++;
    out[k] = rank;
  }
}

function sortedCopy(a: Int32Array): Int32Array {
  return Int32Array.from(a).sort();
}

/** Over the tied runs t of sorted ranks: pairs = Σ t(t−1)/2, v0 = Σ t(t−1)(t−2), v1 = Σ t(t−1)(2t+5). */
function tieStats(sorted: Int32Array): { pairs: number; v0: number; v1: number } {
  let pairs = 0;
  let v0 = 0;
  let v1 = 0;
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (end < sorted.length && sorted[end] === sorted[start]) end++;
    const t = end - start;
    if (t > 1) {
      pairs += (t * (t - 1)) / 2;
      v0 += t * (t - 1) * (t - 2);
      v1 += t * (t - 1) * (2 * t + 5);
    }
    start = end;
  }
  return { pairs, v0, v1 };
}

/** Pairs i < j with a[i] > a[j] (strictly), by bottom-up merge sort; `a` is left untouched. */
function countInversions(a: Int32Array): number {
  let src = Int32Array.from(a);
  let dst = new Int32Array(a.length);
  let inversions = 0;
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[i]! <= src[j]!) dst[k++] = src[i++]!;
        else {
          inversions += mid - i; // src[j] is smaller than every element left in the left half
          dst[k++] = src[j++]!;
        }
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    [src, dst] = [dst, src];
  }
  return inversions;
}

function factorial(n: number): number {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return f;
}
