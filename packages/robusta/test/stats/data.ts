// Seeded test data for the statistics tests, from a generator independent of src/stats/random.ts
// (mulberry32), so a broken library PRNG cannot hide inside the test inputs.

export { mulberry32 as testRandom } from '../support/random.js';

/** A standard normal draw (Box–Muller). */
export function gaussian(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** O(n²) τ-b straight from its definition: Σ sign(Δx)·sign(Δy) / √((n₀ − ties in x)(n₀ − ties in y)), NaN pairs dropped. */
export function bruteTauB(x: readonly number[], y: readonly number[]): number {
  const xs: number[] = [];
  const ys: number[] = [];
  x.forEach((v, i) => {
    if (!Number.isNaN(v) && !Number.isNaN(y[i]!)) {
      xs.push(v);
      ys.push(y[i]!);
    }
  });
  const n = xs.length;
  let s = 0;
  let tiedX = 0;
  let tiedY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sx = Math.sign(xs[i]! - xs[j]!) || (xs[i] === xs[j] ? 0 : xs[i]! < xs[j]! ? -1 : 1);
      const sy = Math.sign(ys[i]! - ys[j]!) || (ys[i] === ys[j] ? 0 : ys[i]! < ys[j]! ? -1 : 1);
      s += sx * sy;
      if (sx === 0) tiedX++;
      if (sy === 0) tiedY++;
    }
  }
  const n0 = (n * (n - 1)) / 2;
  if (n < 2 || tiedX === n0 || tiedY === n0) return NaN;
  return s / Math.sqrt((n0 - tiedX) * (n0 - tiedY));
}
