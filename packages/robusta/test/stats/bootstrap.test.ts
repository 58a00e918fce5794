// Percentile bootstrap interval of Kendall's τ-b: replayed in Python (the same xoshiro128** stream,
// scipy.stats.kendalltau, numpy.quantile), plus the properties the study relies on: determinism per
// seed, intervals that contain τ on strongly correlated data, and nesting as the level grows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootstrapTauInterval } from '../../src/stats/bootstrap.js';
import { kendallTauB } from '../../src/stats/kendall.js';
import { quantileSorted } from '../../src/stats/quantile.js';
import { gaussian, testRandom } from './data.js';
import { PY_RNG } from './pyrng.js';
import { close, runScipy, scipySkip } from './scipy.js';

function correlated(n: number, noise: number, seed: number): { x: number[]; y: number[] } {
  const u = testRandom(seed);
  const x = Array.from({ length: n }, () => u());
  return { x, y: x.map((v) => v + noise * gaussian(u)) };
}

describe('bootstrapTauInterval', () => {
  test('equals a Python replay: same resampled indices, scipy kendalltau, numpy.quantile (1e-12)', { skip: scipySkip() }, () => {
    const u = testRandom(77);
    // Tied measure values, 3 NaN models, n = 40; and a tiny sample where many resamples are constant.
    const x = Array.from({ length: 40 }, () => Math.round(u() * 5));
    const y = x.map((v) => Math.round(v + 3 * u()));
    x[3] = NaN;
    y[11] = NaN;
    y[25] = NaN;
    const inputs = [
      { x, y, samples: 400, level: 0.95, seed: 5 },
      { x, y, samples: 250, level: 0.8, seed: 0 },
      { x: [1, 1, 1, 2, 3], y: [1, 2, 3, 4, 5], samples: 300, level: 0.9, seed: 11 },
    ];
    const ref = runScipy<[number, number, number][]>(
      `${PY_RNG}
import warnings
warnings.simplefilter('ignore')
out = []
for c in INPUT:
    x = np.array(c['x'], dtype=float); y = np.array(c['y'], dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    rng = Xoshiro128ss(splitmix32_state(c['seed']))
    taus = []
    for _ in range(c['samples']):
        idx = [rng.next_int(n) for _ in range(n)]
        t = scipy.stats.kendalltau(x[idx], y[idx]).statistic
        if not np.isnan(t):
            taus.append(t)
    a = (1 - c['level']) / 2
    out.append([float(np.quantile(taus, a)), float(np.quantile(taus, 1 - a)), len(taus)])
OUTPUT = out
`,
      inputs,
    );
    inputs.forEach((c, i) => {
      const [low, high, finite] = ref[i]!;
      const r = bootstrapTauInterval(c.x, c.y, { samples: c.samples, level: c.level, seed: c.seed });
      assert.ok(close(r.low, low, 1e-12) && close(r.high, high, 1e-12), `case ${i}: [${r.low}, ${r.high}] vs Python [${low}, ${high}]`);
      if (i === 2) assert.ok(finite < c.samples, 'the tiny sample must have resamples with no τ, skipped');
    });
  });

  test('same seed, same interval; another seed, another interval', () => {
    const { x, y } = correlated(50, 0.5, 1);
    const a = bootstrapTauInterval(x, y, { seed: 3, samples: 500 });
    assert.deepEqual(bootstrapTauInterval(x, y, { seed: 3, samples: 500 }), a);
    const b = bootstrapTauInterval(x, y, { seed: 4, samples: 500 });
    assert.ok(a.low !== b.low || a.high !== b.high, JSON.stringify([a, b]));
    assert.deepEqual(bootstrapTauInterval(x, y), bootstrapTauInterval(x, y, { samples: 1000, level: 0.95, seed: 0 }), 'defaults');
  });

  test('a strongly correlated sample: the interval has width and contains τ, well above 0', () => {
    const { x, y } = correlated(60, 0.1, 2);
    const tau = kendallTauB(x, y).tau;
    const r = bootstrapTauInterval(x, y, { seed: 1 });
    assert.ok(r.low < tau && tau < r.high, `τ ${tau} outside [${r.low}, ${r.high}]`);
    assert.ok(r.low > 0.5 && r.high <= 1 && r.high - r.low > 0.02, JSON.stringify(r));
    // Independent data: the interval straddles 0.
    const u = testRandom(8);
    const indep = bootstrapTauInterval(Array.from({ length: 80 }, () => u()), Array.from({ length: 80 }, () => u()), { seed: 1 });
    assert.ok(indep.low < 0 && indep.high > 0, JSON.stringify(indep));
  });

  test('intervals nest as the level grows', () => {
    const { x, y } = correlated(40, 0.4, 3);
    const levels = [0.5, 0.8, 0.9, 0.95, 0.99];
    const intervals = levels.map((level) => bootstrapTauInterval(x, y, { level, seed: 9, samples: 800 }));
    for (let k = 1; k < intervals.length; k++) {
      assert.ok(intervals[k]!.low <= intervals[k - 1]!.low && intervals[k]!.high >= intervals[k - 1]!.high, `level ${levels[k]}`);
    }
    const width = (i: { low: number; high: number }) => i.high - i.low;
    assert.ok(width(intervals[4]!) > 1.5 * width(intervals[0]!));
  });

  test('resamples without τ are skipped; too few pairs gives NaN; bad options throw', () => {
    const r = bootstrapTauInterval([1, 1, 1, 2], [1, 2, 3, 4], { seed: 2 });
    assert.ok(Number.isFinite(r.low) && Number.isFinite(r.high), JSON.stringify(r));
    for (const [x, y] of [[[1], [2]], [[1, NaN], [NaN, 2]], [[1, 1, 1], [1, 2, 3]]] as [number[], number[]][]) {
      const d = bootstrapTauInterval(x, y);
      assert.ok(Number.isNaN(d.low) && Number.isNaN(d.high), JSON.stringify([x, y, d]));
    }
    assert.throws(() => bootstrapTauInterval([1, 2], [1, 2], { level: 1 }), RangeError);
    assert.throws(() => bootstrapTauInterval([1, 2], [1, 2], { samples: 0 }), RangeError);
    assert.throws(() => bootstrapTauInterval([1, 2], [1]), RangeError);
  });
});

describe('quantileSorted', () => {
  test('by hand on a small list', () => {
    // [1, 2, 4, 8]: q = 0.5 → h = 1.5 → 2 + 0.5·(4 − 2) = 3; q = 0.1 → h = 0.3 → 1.3.
    assert.equal(quantileSorted([1, 2, 4, 8], 0.5), 3);
    assert.ok(close(quantileSorted([1, 2, 4, 8], 0.1), 1.3, 1e-15));
    assert.ok(Number.isNaN(quantileSorted([], 0.5)));
    assert.throws(() => quantileSorted([1], 1.5), RangeError);
  });

  test('matches numpy.quantile (linear interpolation)', { skip: scipySkip() }, () => {
    const u = testRandom(4);
    const values = Array.from({ length: 37 }, () => gaussian(u)).sort((a, b) => a - b);
    const qs = [0, 0.001, 0.025, 0.1, 0.333, 0.5, 0.975, 0.999, 1];
    const ref = runScipy<number[]>(`OUTPUT = [float(np.quantile(INPUT['v'], q)) for q in INPUT['q']]`, { v: values, q: qs });
    qs.forEach((q, i) => assert.ok(close(quantileSorted(values, q), ref[i]!, 1e-14), `q ${q}`));
  });
});
