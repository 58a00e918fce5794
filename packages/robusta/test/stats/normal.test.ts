// erfc and the two-sided normal p-value against Python's math.erfc (C library, near-correctly rounded).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { erfc, normalTwoSidedP } from '../../src/stats/normal.js';
import { runScipy, scipySkip } from './scipy.js';

test('erfc matches math.erfc to 1e-14 relative on [−6, 27], and the two-sided normal p-value matches 2·scipy.stats.norm.sf to 1e-12', { skip: scipySkip() }, () => {
  const xs: number[] = [];
  for (let x = -6; x <= 27; x += 0.0137) xs.push(x);
  xs.push(0, 0.9999999, 1, 1.0000001, 26.5);
  const zs = [0, 0.1, 1, 1.959963984540054, 3, 8, 20, 37];
  const ref = runScipy<{ erfc: number[]; p: number[] }>(
    `OUTPUT = {'erfc': [math.erfc(x) for x in INPUT['xs']], 'p': [float(2 * scipy.stats.norm.sf(abs(z))) for z in INPUT['zs']]}`,
    { xs, zs },
  );
  let worst = 0;
  xs.forEach((x, i) => {
    const diff = Math.abs(erfc(x) - ref.erfc[i]!);
    if (ref.erfc[i]! < 2.3e-308) {
      // Subnormal results carry fewer digits in both implementations: compare absolutely.
      assert.ok(diff < 1e-320, `erfc(${x}) = ${erfc(x)} vs ${ref.erfc[i]}`);
      return;
    }
    worst = Math.max(worst, diff / ref.erfc[i]!);
    assert.ok(diff / ref.erfc[i]! < 1e-14, `erfc(${x}) = ${erfc(x)} vs ${ref.erfc[i]}`);
  });
  // SciPy's norm.sf (Cephes ndtr) itself strays ~1e-14 relative from math.erfc in the tail: allow 1e-12.
  zs.forEach((z, i) => assert.ok(Math.abs(normalTwoSidedP(z) - ref.p[i]!) <= 1e-12 * ref.p[i]!, `p(${z}) = ${normalTwoSidedP(z)} vs ${ref.p[i]}`));
  console.log(`# erfc: worst relative error ${worst.toExponential(2)} over ${xs.length} points`);
});

test('erfc: symmetry, limits, NaN', () => {
  assert.equal(erfc(0), 1);
  assert.equal(erfc(40), 0);
  assert.equal(erfc(-40), 2);
  assert.ok(Number.isNaN(erfc(NaN)));
  assert.ok(Math.abs(erfc(-1.3) - (2 - erfc(1.3))) < 1e-16);
  assert.equal(normalTwoSidedP(0), 1);
});
