// The seeded generator: xoshiro128** against values worked by hand and against a Python version
// written from the algorithm's definition; determinism per seed; uniformity of next() and nextInt().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, xoshiro128StarStar } from '../../src/stats/random.js';
import { PY_RNG } from './pyrng.js';
import { runScipy, scipySkip } from './scipy.js';

test('xoshiro128** from state (1, 2, 3, 4): the first two outputs by hand', () => {
  // out = rotl(s1·5, 7)·9 = rotl(10, 7)·9 = 1280·9 = 11520. Then t = 2 << 9 = 1024, s2 = 3^1 = 2,
  // s3 = 4^2 = 6, s1 = 2^2 = 0, s0 = 1^6 = 7, s2 = 2^1024 = 1026, s3 = rotl(6, 11) = 12288;
  // so the next output is rotl(0·5, 7)·9 = 0.
  const rng = xoshiro128StarStar([1, 2, 3, 4]);
  assert.equal(rng.nextUint32(), 11520);
  assert.equal(rng.nextUint32(), 0);
  assert.throws(() => xoshiro128StarStar([0, 0, 0, 0]), RangeError);
});

test('the streams match a Python version of xoshiro128** and splitmix32 (2,000 outputs, 3 seeds, nextInt)', { skip: scipySkip() }, () => {
  const seeds = [0, 1, 4294967295];
  const ref = runScipy<{ fromState: number[]; seeded: number[][]; ints: number[] }>(
    `${PY_RNG}
r = Xoshiro128ss([1, 2, 3, 4])
from_state = [r.next_uint32() for _ in range(2000)]
seeded = []
for seed in INPUT['seeds']:
    g = Xoshiro128ss(splitmix32_state(seed))
    seeded.append([g.next_uint32() for _ in range(2000)])
g = Xoshiro128ss(splitmix32_state(7))
ints = [g.next_int(n) for n in range(1, 500)]
OUTPUT = {'fromState': from_state, 'seeded': seeded, 'ints': ints}
`,
    { seeds },
  );
  const a = xoshiro128StarStar([1, 2, 3, 4]);
  assert.deepEqual(Array.from({ length: 2000 }, () => a.nextUint32()), ref.fromState);
  seeds.forEach((seed, i) => {
    const g = createRng(seed);
    assert.deepEqual(Array.from({ length: 2000 }, () => g.nextUint32()), ref.seeded[i], `seed ${seed}`);
  });
  const g = createRng(7);
  assert.deepEqual(Array.from({ length: 499 }, (_, k) => g.nextInt(k + 1)), ref.ints);
});

test('same seed, same stream; other seed, other stream; next() and nextInt() are uniform', () => {
  const take = (seed: number) => {
    const r = createRng(seed);
    return Array.from({ length: 100 }, () => r.nextUint32());
  };
  assert.deepEqual(take(42), take(42));
  assert.notDeepEqual(take(42), take(43));
  assert.notDeepEqual(take(0), take(1));

  const r = createRng(123);
  const draws = 120_000;
  let sum = 0;
  const counts = new Array<number>(6).fill(0);
  for (let k = 0; k < draws; k++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    sum += v;
    counts[r.nextInt(6)]!++;
  }
  // Mean of U(0,1): sd of the average is 1/√(12·draws) ≈ 0.0008; allow 5 sd.
  assert.ok(Math.abs(sum / draws - 0.5) < 0.004, `mean ${sum / draws}`);
  // Each face expects 20,000 with sd ≈ 129: allow 5 sd.
  for (const c of counts) assert.ok(Math.abs(c - draws / 6) < 650, `counts ${counts.join(', ')}`);
  assert.throws(() => r.nextInt(0), RangeError);
});
