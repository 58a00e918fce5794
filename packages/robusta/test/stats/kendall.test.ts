// Kendall's τ-b and its p-value against scipy.stats.kendalltau (SciPy's defaults: variant 'b',
// method 'auto', two-sided), on seeded data with many ties, without ties, with ties on one side only,
// with NaNs, for n = 2..200 and n = 3000, every permutation of 4 and 5 items, near-sorted orders
// (SciPy's exact branch for n > 33) and degenerate inputs. Independently of SciPy: τ against an O(n²)
// count from the definition, and the exact p-value against enumerating all permutations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kendallExactTwoSidedP, kendallTauB } from '../../src/stats/kendall.js';
import { bruteTauB, gaussian, testRandom } from './data.js';
import { close, runScipy, scipySkip } from './scipy.js';

interface Case {
  name: string;
  x: number[];
  y: number[];
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

function buildCases(): Case[] {
  const u = testRandom(20231);
  const cases: Case[] = [];
  const sizes: number[] = [];
  for (let n = 2; n <= 60; n++) sizes.push(n);
  for (let n = 67; n <= 200; n += 7) sizes.push(n);
  sizes.push(200);
  for (const n of sizes) {
    const levels = 2 + (n % 4);
    const base = Array.from({ length: n }, () => u());
    // Ties on both sides: x and a noisy copy of it, both rounded to a few levels.
    const tx = base.map((v) => Math.floor(v * levels));
    const ty = base.map((v) => Math.floor(Math.min(0.999, Math.max(0, v + 0.4 * gaussian(u))) * (levels + 1)));
    cases.push({ name: `ties n=${n}`, x: tx, y: ty });
    // No ties: continuous values, positively, negatively or not correlated.
    const slope = [1, -1, 0][n % 3]!;
    cases.push({ name: `no ties n=${n}`, x: [...base], y: base.map((v) => slope * v + 0.5 * gaussian(u)) });
    // Ties on one side only.
    cases.push({ name: `x ties only n=${n}`, x: tx, y: base.map((v) => v + 0.3 * gaussian(u)) });
    // NaNs in either side (about 15%), on tied and on untied data.
    const holes = (a: number[]) => a.map((v) => (u() < 0.15 ? NaN : v));
    cases.push({ name: `NaN, ties n=${n}`, x: holes(tx), y: holes(ty) });
    cases.push({ name: `NaN, no ties n=${n}`, x: holes(base), y: holes(base.map((v) => v + 0.5 * gaussian(u))) });
  }
  // Every order of 4 and 5 items: all exact p-values, including c = n₀/2 and c ∈ {0, 1}.
  for (const n of [4, 5]) {
    const x = Array.from({ length: n }, (_, i) => i);
    for (const p of permutations(n)) cases.push({ name: `perm ${p.join('')}`, x, y: p });
  }
  // Near-sorted orders past n = 33: SciPy's exact branch (min(n_d, n₀ − n_d) ≤ 1) and just beyond it (2).
  for (const n of [34, 40, 100]) {
    const x = Array.from({ length: n }, (_, i) => i * 0.5);
    const swap = (a: number[], i: number) => {
      const b = [...a];
      [b[i], b[i + 1]] = [b[i + 1]!, b[i]!];
      return b;
    };
    const rev = [...x].reverse();
    cases.push({ name: `sorted n=${n}`, x, y: [...x] });
    cases.push({ name: `one swap n=${n}`, x, y: swap(x, 7) });
    cases.push({ name: `two swaps n=${n}`, x, y: swap(swap(x, 7), 20) });
    cases.push({ name: `reversed n=${n}`, x, y: rev });
    cases.push({ name: `reversed one swap n=${n}`, x, y: swap(rev, 3) });
  }
  // Large n: the O(n log n) count against SciPy's.
  const big = Array.from({ length: 3000 }, () => u());
  cases.push({ name: 'ties n=3000', x: big.map((v) => Math.floor(v * 10)), y: big.map((v) => Math.floor(Math.min(0.999, Math.max(0, v + 0.3 * gaussian(u))) * 7)) });
  cases.push({ name: 'no ties n=3000', x: big, y: big.map((v) => v + gaussian(u)) });
  // Degenerate: SciPy gives NaN.
  cases.push({ name: 'constant x', x: [3, 3, 3, 3, 3], y: [1, 2, 3, 4, 5] });
  cases.push({ name: 'constant y', x: [1, 2, 3, 4, 5], y: [0, 0, 0, 0, 0] });
  cases.push({ name: 'both constant', x: [1, 1, 1], y: [2, 2, 2] });
  cases.push({ name: 'constant after NaNs', x: [1, NaN, 2, 3], y: [5, 1, NaN, 5] });
  cases.push({ name: 'one pair', x: [1], y: [2] });
  cases.push({ name: 'one pair left', x: [1, NaN, 3], y: [2, 4, NaN] });
  cases.push({ name: 'two pairs', x: [1, 2], y: [4, 3] });
  cases.push({ name: 'empty', x: [], y: [] });
  cases.push({ name: 'all NaN', x: [NaN, NaN, NaN], y: [1, 2, 3] });
  return cases;
}

describe('kendallTauB', () => {
  const cases = buildCases();

  test('matches scipy.stats.kendalltau (τ to 1e-12, p to 1e-9 absolute and 1e-6 relative)', { skip: scipySkip() }, () => {
    const ref = runScipy<[number, number, number][]>(
      `
out = []
for c in INPUT:
    x = np.array(c['x'], dtype=float); y = np.array(c['y'], dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    r = scipy.stats.kendalltau(x[keep], y[keep])
    out.append([float(r.statistic), float(r.pvalue), int(keep.sum())])
OUTPUT = out
`,
      cases.map((c) => ({ x: c.x, y: c.y })),
    );
    assert.equal(ref.length, cases.length);
    let worstTau = 0;
    let worstP = 0;
    cases.forEach((c, i) => {
      const [tauRef, pRef, nRef] = ref[i]!;
      const r = kendallTauB(c.x, c.y);
      assert.equal(r.n, nRef, `${c.name}: n`);
      assert.ok(close(r.tau, tauRef, 1e-12), `${c.name}: tau ${r.tau} vs scipy ${tauRef}`);
      assert.ok(close(r.pValue, pRef, 1e-9), `${c.name}: p ${r.pValue} vs scipy ${pRef}`);
      if (pRef > 0 && !Number.isNaN(pRef)) {
        assert.ok(Math.abs(r.pValue - pRef) <= 1e-6 * pRef, `${c.name}: p ${r.pValue} vs scipy ${pRef} (relative)`);
        worstP = Math.max(worstP, Math.abs(r.pValue - pRef) / pRef);
      }
      if (!Number.isNaN(tauRef)) worstTau = Math.max(worstTau, Math.abs(r.tau - tauRef));
    });
    // The data must exercise every branch: NaN results, exact and asymptotic p-values, tiny p-values.
    assert.ok(ref.some(([t]) => Number.isNaN(t)));
    assert.ok(ref.some(([, p]) => p < 1e-30));
    assert.ok(ref.filter(([t]) => !Number.isNaN(t)).length > 400);
    console.log(`# ${cases.length} cases: worst |Δτ| ${worstTau.toExponential(2)}, worst relative Δp ${worstP.toExponential(2)}`);
  });

  test('NaN pairs dropped = scipy.stats.kendalltau(nan_policy="omit") where that gives a number', { skip: scipySkip() }, () => {
    const withNaN = cases.filter((c) => c.name.startsWith('NaN'));
    const ref = runScipy<[number, number][]>(
      `
import warnings
warnings.simplefilter('ignore')
OUTPUT = [[float(r.statistic), float(r.pvalue)] for r in
          (scipy.stats.kendalltau(np.array(c['x'], dtype=float), np.array(c['y'], dtype=float), nan_policy='omit') for c in INPUT)]
`,
      withNaN.map((c) => ({ x: c.x, y: c.y })),
    );
    let compared = 0;
    withNaN.forEach((c, i) => {
      const [tauRef, pRef] = ref[i]!;
      if (Number.isNaN(tauRef)) return;
      const r = kendallTauB(c.x, c.y);
      assert.ok(close(r.tau, tauRef, 1e-12), `${c.name}: tau ${r.tau} vs ${tauRef}`);
      assert.ok(close(r.pValue, pRef, 1e-9), `${c.name}: p ${r.pValue} vs ${pRef}`);
      compared++;
    });
    assert.ok(compared > 100);
  });

  test('τ equals the O(n²) count from the definition, also with ±Infinity and −0', () => {
    for (const c of cases.filter((k) => k.x.length <= 200)) {
      assert.ok(close(kendallTauB(c.x, c.y).tau, bruteTauB(c.x, c.y), 1e-12), c.name);
    }
    const x = [-Infinity, -0, 0, 1, Infinity, Infinity, 2, -0];
    const y = [1, 2, 2, 3, Infinity, 5, -Infinity, 0];
    assert.ok(close(kendallTauB(x, y).tau, bruteTauB(x, y), 1e-15));
  });

  test('degenerate inputs give NaN; τ is symmetric in its arguments and odd under negation', () => {
    for (const [x, y] of [[[], []], [[1], [1]], [[2, 2, 2], [1, 2, 3]], [[1, 2, 3], [NaN, NaN, 4]]] as [number[], number[]][]) {
      const r = kendallTauB(x, y);
      assert.ok(Number.isNaN(r.tau) && Number.isNaN(r.pValue), JSON.stringify([x, y]));
    }
    assert.throws(() => kendallTauB([1, 2], [1]), RangeError);
    const u = testRandom(5);
    const x = Array.from({ length: 50 }, () => Math.round(u() * 4));
    const y = x.map((v) => Math.round(v + 2 * u()));
    const r = kendallTauB(x, y);
    assert.ok(close(kendallTauB(y, x).tau, r.tau, 1e-15));
    assert.ok(close(kendallTauB(x, y.map((v) => -v)).tau, -r.tau, 1e-15));
    assert.ok(close(kendallTauB(x, y.map((v) => -v)).pValue, r.pValue, 1e-15));
  });

  test('exact p-value equals 2·P(C ≤ min(c, n₀ − c)) over all n! orders, n = 1..8', () => {
    for (let n = 1; n <= 8; n++) {
      const total = (n * (n - 1)) / 2;
      const counts = new Array<number>(total + 1).fill(0);
      for (const p of permutations(n)) {
        let inv = 0;
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (p[i]! > p[j]!) inv++;
        counts[inv]!++;
      }
      const orders = counts.reduce((a, b) => a + b, 0);
      for (let c = 0; c <= total; c++) {
        const lower = Math.min(c, total - c);
        const tail = counts.slice(0, lower + 1).reduce((a, b) => a + b, 0) / orders;
        const expected = Math.min(1, 2 * tail);
        assert.ok(close(kendallExactTwoSidedP(n, c), expected, 1e-14), `n=${n} c=${c}: ${kendallExactTwoSidedP(n, c)} vs ${expected}`);
      }
    }
  });

  test('n = 3000 takes milliseconds (O(n log n))', () => {
    const u = testRandom(9);
    const x = Array.from({ length: 3000 }, () => u());
    const y = x.map((v) => v + u());
    const t0 = performance.now();
    for (let k = 0; k < 10; k++) kendallTauB(x, y);
    const ms = (performance.now() - t0) / 10;
    assert.ok(ms < 100, `${ms.toFixed(1)} ms per call`);
  });
});
