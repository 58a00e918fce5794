// Percentile bootstrap confidence interval for Kendall's τ-b (Efron & Tibshirani, "An Introduction to
// the Bootstrap", 1993, ch. 13): draw B resamples of the n models with replacement, compute τ*_b on
// each, and report the (1 − level)/2 and (1 + level)/2 quantiles of the τ*_b's. The study uses it to
// show how far a measure's τ with the robust generalization gap could move with another set of models.
//
// Choices: pairs with a NaN in x or y are dropped before resampling (a resample is drawn from the
// usable models); resamples whose τ is NaN (one side constant, e.g. a resample of one model repeated)
// are skipped, so the quantiles are over the finite τ*'s; quantiles interpolate linearly (NumPy's
// default). Resample s draws its n indices one after the other as rng.nextInt(n) from one xoshiro128**
// stream seeded by `seed` (random.ts), so the same seed gives the same interval.

import { kendallTauB } from './kendall.js';
import { quantileSorted } from './quantile.js';
import { createRng } from './random.js';

export interface BootstrapOptions {
  /** Number of resamples B (default 1000). */
  samples?: number;
  /** Coverage of the interval, in (0, 1) (default 0.95). */
  level?: number;
  /** Seed of the resampling stream (default 0). */
  seed?: number;
}

/** Bounds of the interval; both NaN when no resample had a finite τ (or fewer than 2 usable pairs). */
export interface Interval {
  low: number;
  high: number;
}

/** Percentile-bootstrap interval of Kendall's τ-b between x and y over resampled model indices. */
export function bootstrapTauInterval(x: readonly number[], y: readonly number[], options: BootstrapOptions = {}): Interval {
  const { samples = 1000, level = 0.95, seed = 0 } = options;
  if (x.length !== y.length) throw new RangeError(`bootstrapTauInterval: x has ${x.length} values, y has ${y.length}`);
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`bootstrapTauInterval: samples must be a positive integer, got ${samples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrapTauInterval: level must lie in (0, 1), got ${level}`);

  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]!) || Number.isNaN(y[i]!)) continue;
    xs.push(x[i]!);
    ys.push(y[i]!);
  }
  const n = xs.length;
  if (n < 2) return { low: NaN, high: NaN };

  const rng = createRng(seed);
  const taus: number[] = [];
  const rx = new Array<number>(n);
  const ry = new Array<number>(n);
  for (let s = 0; s < samples; s++) {
    for (let k = 0; k < n; k++) {
      const i = rng.nextInt(n);
      rx[k] = xs[i]!;
      ry[k] = ys[i]!;
    }
    const { tau } = kendallTauB(rx, ry);
    if (!Number.isNaN(tau)) taus.push(tau);
  }
  if (taus.length === 0) return { low: NaN, high: NaN };
  taus.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { low: quantileSorted(taus, alpha), high: quantileSorted(taus, 1 - alpha) };
}
