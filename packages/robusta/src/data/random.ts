// A small seeded generator for everything the data layer shuffles or augments. It lives in JS
// (not libtorch's generator) so that an order is a pure function of its keys: the batches of
// epoch e depend on (seed, e) only, whatever ran before — which is what a resumed run needs.

/** splitmix32-style finaliser: a well-mixed 32-bit hash of a 32-bit value. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seeded pseudo-random stream (sfc32: Chris Doty-Humphrey's Small Fast Counting generator,
 * 128-bit state, passes PractRand). Build one from keys with Rng.from(seed, epoch, ...).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    for (let i = 0; i < 12; i++) this.nextUint32(); // warm up: spread the seed over the state
  }

  /**
   * A stream determined by a list of integer keys (e.g. seed, epoch, batch index): equal keys give
   * equal streams, and streams of different keys are independent for practical purposes.
   */
  static from(...keys: number[]): Rng {
    let h1 = 0x9e3779b9;
    let h2 = 0x85ebca6b;
    for (const k of keys) {
      if (!Number.isSafeInteger(k)) throw new RangeError(`Rng keys must be safe integers, got ${k}`);
      const lo = k >>> 0; // low 32 bits (two's complement for negatives)
      const hi = Math.floor(k / 0x100000000) >>> 0;
      h1 = mix32(h1 ^ mix32(lo + 0x632be5ab));
      h2 = mix32(h2 ^ mix32(hi + 0x1b873593) ^ h1);
    }
    return new Rng(h1, h2, mix32(h1 ^ 0xdeadbeef), mix32(h2 + keys.length));
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias (n up to 2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`Rng.int(n) needs an integer n in [1, 2^32], got ${n}`);
    if (n === 1) return 0;
    // Rejection sampling on the largest multiple of n below 2^32.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** A uniform random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
