// Granulated Kendall τ (Jiang et al. 2020, §4) and τ within groups: hand-worked cases (the reasoning
// is written beside each), and a brute-force comparison with a separate Python implementation
// (itertools.groupby + scipy.stats.kendalltau) on random incomplete grids of 3 axes with replicates,
// ties and NaNs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { granulatedTau, tauByGroup, type GranulatedTau, type ModelPoint } from '../../src/stats/granulated.js';
import { kendallTauB } from '../../src/stats/kendall.js';
import { testRandom } from './data.js';
import { close, runScipy, scipySkip } from './scipy.js';

const pt = (settings: ModelPoint['settings'], measure: number, gap: number): ModelPoint => ({ settings, measure, gap });

function assertAxis(r: GranulatedTau, axis: string, tau: number, groups: number, models: number): void {
  const a = r.perAxis[axis];
  assert.ok(a, `axis ${axis} missing`);
  assert.ok(close(a.tau, tau, 1e-15), `${axis}: ψ ${a.tau}, expected ${tau}`);
  assert.equal(a.groups, groups, `${axis}: groups`);
  assert.equal(a.models, models, `${axis}: models`);
}

describe('granulatedTau, worked by hand', () => {
  test('2×2 grid: ψ differs per axis, and Ψ differs from the overall τ', () => {
    // (lr, bs) → (measure, gap):
    //   (0.1, 64) → (1, 1)   (0.01, 64) → (2, 2)   (0.1, 128) → (3, 4)   (0.01, 128) → (4, 3)
    // Axis lr, grouped by bs: bs=64: (1,1),(2,2) concordant → τ = +1; bs=128: (3,4),(4,3) discordant
    //   → τ = −1; ψ_lr = 0 over 2 groups of 2 models.
    // Axis bs, grouped by lr: lr=0.1: (1,1),(3,4) → +1; lr=0.01: (2,2),(4,3) → +1; ψ_bs = 1.
    // Ψ = (0 + 1)/2 = 0.5, while τ over all 4 models = (5 concordant − 1 discordant)/6 = 2/3.
    const points = [
      pt({ lr: 0.1, bs: 64 }, 1, 1), pt({ lr: 0.01, bs: 64 }, 2, 2),
      pt({ lr: 0.1, bs: 128 }, 3, 4), pt({ lr: 0.01, bs: 128 }, 4, 3),
    ];
    const r = granulatedTau(points, ['lr', 'bs']);
    assertAxis(r, 'lr', 0, 2, 4);
    assertAxis(r, 'bs', 1, 2, 4);
    assert.ok(close(r.mean, 0.5, 1e-15));
    assert.ok(close(kendallTauB(points.map((p) => p.measure), points.map((p) => p.gap)).tau, 2 / 3, 1e-15));
    // The order of the models does not matter.
    const shuffled = granulatedTau([points[3]!, points[0]!, points[2]!, points[1]!], ['bs', 'lr']);
    assert.deepEqual(shuffled.perAxis.lr, r.perAxis.lr);
    assert.ok(close(shuffled.mean, r.mean, 1e-15));
  });

  test('incomplete grid with replicates: single-model groups and single-value groups are skipped', () => {
    // (method, arch, seed) → (measure, gap):
    //   AT cnn s0 → (1,1)   AT cnn s1 → (2,3)   TRADES cnn → (3,2)   AT mlp → (5,5)
    //   AT wide s0 → (4,4)  AT wide s1 → (6,0)  (TRADES mlp and TRADES wide were not trained)
    // Axis method, grouped by arch:
    //   cnn: AT,AT,TRADES → m (1,2,3), g (1,3,2): pairs 1–2 +, 1–3 +, 2–3 − → τ = (2 − 1)/3 = 1/3
    //   mlp: one model → skipped;  wide: two models, both AT (replicates) → skipped (else τ = −1)
    //   ψ_method = 1/3, 1 group, 3 models.
    // Axis arch, grouped by method:
    //   AT: m (1,2,5,4,6), g (1,3,5,4,0): (6,0) is discordant with all 4 others, the other 6 pairs
    //       are concordant → τ = (6 − 4)/10 = 0.2;   TRADES: one model → skipped
    //   ψ_arch = 0.2, 1 group, 5 models.
    // Ψ = (1/3 + 0.2)/2 = 4/15.
    const points = [
      pt({ method: 'AT', arch: 'cnn' }, 1, 1), pt({ method: 'AT', arch: 'cnn' }, 2, 3),
      pt({ method: 'TRADES', arch: 'cnn' }, 3, 2), pt({ method: 'AT', arch: 'mlp' }, 5, 5),
      pt({ method: 'AT', arch: 'wide' }, 4, 4), pt({ method: 'AT', arch: 'wide' }, 6, 0),
    ];
    const r = granulatedTau(points, ['method', 'arch']);
    assertAxis(r, 'method', 1 / 3, 1, 3);
    assertAxis(r, 'arch', 0.2, 1, 5);
    assert.ok(close(r.mean, 4 / 15, 1e-15));
  });

  test('groups with a constant measure or NaN values have no τ and are skipped', () => {
    // (a, b) → (measure, gap): (0,x) → (1,1)  (1,x) → (1,2)  (0,y) → (1,1)  (1,y) → (2,3)  (0,z) → (3,NaN)
    // Axis a, grouped by b: x: measure constant → NaN, skipped; y: (1,1),(2,3) → +1; z: one model.
    //   ψ_a = 1 over 1 group of 2 models.
    // Axis b, grouped by a: a=0: (1,1),(1,1),(3,NaN) → NaN model dropped, the rest constant → skipped;
    //   a=1: (1,2),(2,3) → +1.   ψ_b = 1 over 1 group of 2 models.   Ψ = 1.
    const points = [
      pt({ a: 0, b: 'x' }, 1, 1), pt({ a: 1, b: 'x' }, 1, 2), pt({ a: 0, b: 'y' }, 1, 1),
      pt({ a: 1, b: 'y' }, 2, 3), pt({ a: 0, b: 'z' }, 3, NaN),
    ];
    const r = granulatedTau(points, ['a', 'b']);
    assertAxis(r, 'a', 1, 1, 2);
    assertAxis(r, 'b', 1, 1, 2);
    assert.equal(r.mean, 1);
  });

  test('an axis with no usable group has ψ = NaN and is left out of Ψ; none at all gives Ψ = NaN', () => {
    // Diagonal grid (0,x), (1,y): every group holds one model → both ψ NaN → Ψ NaN.
    const diagonal = granulatedTau([pt({ a: 0, b: 'x' }, 1, 1), pt({ a: 1, b: 'y' }, 2, 2)], ['a', 'b']);
    assertAxis(diagonal, 'a', NaN, 0, 0);
    assertAxis(diagonal, 'b', NaN, 0, 0);
    assert.ok(Number.isNaN(diagonal.mean));
    // Add (0,y) → (3,1): axis a, group y: (1,y) (2,2) vs (0,y) (3,1) → −1; axis b, group a=0: (0,x) (1,1)
    // vs (0,y) (3,1) → gap tied → NaN; so ψ_a = −1, ψ_b = NaN and Ψ = −1 (not (−1 + NaN)/2).
    const r = granulatedTau([pt({ a: 0, b: 'x' }, 1, 1), pt({ a: 1, b: 'y' }, 2, 2), pt({ a: 0, b: 'y' }, 3, 1)], ['a', 'b']);
    assertAxis(r, 'a', -1, 1, 2);
    assertAxis(r, 'b', NaN, 0, 0);
    assert.equal(r.mean, -1);
    assert.ok(Number.isNaN(granulatedTau([], ['a']).mean));
    assert.deepEqual(granulatedTau([pt({}, 1, 1)], []), { perAxis: {}, mean: NaN });
  });

  test('setting values are compared by type: 1 ≠ "1", true ≠ "true"', () => {
    // (bs, aug) → (measure, gap): (1, true) → (1,1)  ("1", true) → (2,2)  (1, "true") → (3,0)
    // Axis bs, grouped by aug: true: bs 1 and "1" differ → (1,1),(2,2) → +1; "true": one model. ψ_bs = 1.
    // Axis aug, grouped by bs: 1: aug true and "true" differ → (1,1),(3,0) → −1; "1": one model. ψ_aug = −1.
    // Were the values compared as strings, bs's group would hold one bs value and be skipped, and so on.
    const points = [pt({ bs: 1, aug: true }, 1, 1), pt({ bs: '1', aug: true }, 2, 2), pt({ bs: 1, aug: 'true' }, 3, 0)];
    const r = granulatedTau(points, ['bs', 'aug']);
    assertAxis(r, 'bs', 1, 1, 2);
    assertAxis(r, 'aug', -1, 1, 2);
    assert.equal(r.mean, 0);
  });

  test('one axis: ψ is the plain τ over all models; measure = ±gap gives ψ = ±1 on every axis', () => {
    const u = testRandom(3);
    const points = Array.from({ length: 30 }, (_, i) => pt({ a: i % 4, b: Math.floor(i / 4) % 3, c: Math.floor(i / 12) % 2 === 0 }, u(), u()));
    const plain = kendallTauB(points.map((p) => p.measure), points.map((p) => p.gap)).tau;
    assertAxis(granulatedTau(points, ['a']), 'a', plain, 1, 30);
    const same = granulatedTau(points.map((p) => ({ ...p, gap: 2 * p.measure + 1 })), ['a', 'b', 'c']);
    const opposite = granulatedTau(points.map((p) => ({ ...p, gap: -p.measure })), ['a', 'b', 'c']);
    for (const axis of ['a', 'b', 'c']) {
      // 1 up to rounding: τ-b divides by √(n₀ − t) twice, as SciPy does (3/√3/√3 = 0.9999999999999999).
      assert.ok(close(same.perAxis[axis]!.tau, 1, 1e-15));
      assert.ok(close(opposite.perAxis[axis]!.tau, -1, 1e-15));
    }
  });

  test('bad input: repeated axes or a model without a value for an axis throw', () => {
    assert.throws(() => granulatedTau([pt({ a: 1 }, 1, 1)], ['a', 'a']), RangeError);
    assert.throws(() => granulatedTau([pt({ a: 1 }, 1, 1)], ['a', 'b']), /no value for axis "b"/);
  });
});

describe('tauByGroup', () => {
  test('τ and n within each group, in first-seen order', () => {
    // AT: (1,1),(2,2),(3,3) → +1; TRADES: (1,3),(2,2),(3,1) → −1; MART: (1,NaN),(2,5) → one usable model → NaN.
    const points = [
      { method: 'TRADES', measure: 1, gap: 3 }, { method: 'AT', measure: 1, gap: 1 }, { method: 'AT', measure: 2, gap: 2 },
      { method: 'TRADES', measure: 2, gap: 2 }, { method: 'MART', measure: 1, gap: NaN }, { method: 'AT', measure: 3, gap: 3 },
      { method: 'MART', measure: 2, gap: 5 }, { method: 'TRADES', measure: 3, gap: 1 },
    ];
    const r = tauByGroup(points, (p) => p.method);
    assert.deepEqual(Object.keys(r), ['TRADES', 'AT', 'MART']);
    assert.deepEqual(r.AT, { tau: 1, n: 3 });
    assert.deepEqual(r.TRADES, { tau: -1, n: 3 });
    assert.equal(r.MART!.n, 1);
    assert.ok(Number.isNaN(r.MART!.tau));
  });
});

describe('granulatedTau against a separate Python implementation', () => {
  test('random incomplete 3-axis grids with replicates, ties and NaNs: ψ per axis to 1e-12, counts exact', { skip: scipySkip() }, () => {
    const grids: { points: ModelPoint[]; axes: string[] }[] = [];
    for (let seed = 0; seed < 25; seed++) {
      const u = testRandom(1000 + seed);
      const points: ModelPoint[] = [];
      for (const lr of [0.1, 0.01, 0.001]) {
        for (const bs of [64, 128]) {
          for (const method of ['AT', 'TRADES', 'MART']) {
            if (u() < 0.2) continue; // a cell that was not trained
            const replicates = 1 + Math.floor(u() * 3);
            for (let r = 0; r < replicates; r++) {
              const gap = Math.round((0.1 / lr) * 0.01 + (bs === 64 ? 0.1 : 0) + u() * 20) / 10; // some tied gaps
              const measure = seed % 2 === 0 ? Math.round(gap * 3 + u() * 4) : u(); // ties in even grids
              points.push(pt({ lr, bs, method }, u() < 0.05 ? NaN : measure, u() < 0.05 ? NaN : gap));
            }
          }
        }
      }
      grids.push({ points, axes: seed % 3 === 0 ? ['method', 'lr', 'bs'] : ['lr', 'bs', 'method'] });
    }
    const ref = runScipy<GranulatedTau[]>(
      `
import itertools, warnings
warnings.simplefilter('ignore')
def value(v):
    return (type(v).__name__, v)
def granulated(points, axes):
    per = {}
    for axis in axes:
        others = [a for a in axes if a != axis]
        key = lambda p: repr(tuple(value(p['settings'][a]) for a in others))
        taus, models = [], 0
        for _, group in itertools.groupby(sorted(points, key=key), key=key):
            group = list(group)
            if len(group) < 2 or len({value(p['settings'][axis]) for p in group}) < 2:
                continue
            m = np.array([p['measure'] for p in group], dtype=float)
            g = np.array([p['gap'] for p in group], dtype=float)
            keep = ~(np.isnan(m) | np.isnan(g))
            tau = scipy.stats.kendalltau(m[keep], g[keep]).statistic if keep.sum() > 0 else float('nan')
            if np.isnan(tau):
                continue
            taus.append(float(tau))
            models += int(keep.sum())
        per[axis] = {'tau': float(np.mean(taus)) if taus else float('nan'), 'groups': len(taus), 'models': models}
    psis = [v['tau'] for v in per.values() if not math.isnan(v['tau'])]
    return {'perAxis': per, 'mean': float(np.mean(psis)) if psis else float('nan')}
OUTPUT = [granulated(g['points'], g['axes']) for g in INPUT]
`,
      grids,
    );
    let axesCompared = 0;
    grids.forEach((g, i) => {
      const mine = granulatedTau(g.points, g.axes);
      const theirs = ref[i]!;
      for (const axis of g.axes) {
        const a = mine.perAxis[axis]!;
        const b = theirs.perAxis[axis]!;
        assert.ok(close(a.tau, b.tau, 1e-12), `grid ${i} axis ${axis}: ψ ${a.tau} vs Python ${b.tau}`);
        assert.equal(a.groups, b.groups, `grid ${i} axis ${axis}: groups`);
        assert.equal(a.models, b.models, `grid ${i} axis ${axis}: models`);
        if (!Number.isNaN(a.tau)) axesCompared++;
      }
      assert.ok(close(mine.mean, theirs.mean, 1e-12), `grid ${i}: Ψ ${mine.mean} vs Python ${theirs.mean}`);
    });
    assert.ok(axesCompared >= 70, `only ${axesCompared} axes had a ψ`);
  });
});
