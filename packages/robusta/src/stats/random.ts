// A small seeded pseudo-random generator for the statistics (bootstrap resampling), so that the same
// seed gives the same numbers on every machine and run.
//
// xoshiro128** (Blackman & Vigna, "Scrambled Linear Pseudorandom Number Generators", ACM TOMS 2021):
// state s0..s3 (uint32, not all zero); each step
//   out = rotl(s1 · 5, 7) · 9
//   t = s1 << 9;  s2 ^= s0;  s3 ^= s1;  s1 ^= s2;  s0 ^= s3;  s2 ^= t;  s3 = rotl(s3, 11)
// The 32-bit seed is expanded into the 128-bit state by splitmix32 (the 32-bit variant of Steele,
// Lea & Flood's SplitMix: z += 0x9e3779b9; z = (z ^ z>>>16)·0x85ebca6b; z = (z ^ z>>>13)·0xc2b2ae35;
// z ^ z>>>16), which never yields an all-zero state from a seed and spreads nearby seeds apart.

/** A seeded stream of uniform numbers. */
export interface Rng {
  /** The next raw 32-bit output, an integer in [0, 2³²). */
  nextUint32(): number;
  /** A uniform number in [0, 1): nextUint32() / 2³². */
  next(): number;
  /** A uniform integer in [0, n): floor(next() · n) (bias below n / 2³², negligible for sample sizes). */
  nextInt(n: number): number;
}

/** xoshiro128** seeded from `seed` (taken as an unsigned 32-bit integer: seed >>> 0) through splitmix32. */
export function createRng(seed = 0): Rng {
  let z = seed >>> 0;
  const splitmix32 = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  return xoshiro128StarStar([splitmix32(), splitmix32(), splitmix32(), splitmix32()]);
}

/** xoshiro128** from an explicit 128-bit state (four uint32 words, not all zero). */
export function xoshiro128StarStar(state: readonly [number, number, number, number]): Rng {
  let [s0, s1, s2, s3] = state.map((v) => v >>> 0) as [number, number, number, number];
  if ((s0 | s1 | s2 | s3) === 0) throw new RangeError('xoshiro128**: the state must not be all zero');
  const rotl = (v: number, k: number): number => (v << k) | (v >>> (32 - k));

  const nextUint32 = (): number => {
    const out = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return out;
  };
  const next = (): number => nextUint32() / 4294967296;
  const nextInt = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`nextInt: n must be a positive integer, got ${n}`);
    return Math.floor(next() * n);
  };
  return { nextUint32, next, nextInt };
}
