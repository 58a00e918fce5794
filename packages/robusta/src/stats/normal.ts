// The standard normal tail, for asymptotic p-values: the two-sided p-value of a z-score is
//   p = 2 · (1 − Φ(|z|)) = erfc(|z| / √2).
// JavaScript has no erfc, so it is evaluated here to near double precision (relative error < 1e-14):
//  - |x| < 1: erfc(x) = 1 − erf(x), with erf(x) = (2/√π) · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·5···(2n+1))
//    (Abramowitz & Stegun 7.1.6): every term is positive, so the sum has no cancellation, and
//    erfc > 0.157 here, so subtracting from 1 costs at most a few ulps;
//  - x ≥ 1: the continued fraction erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
//    (A&S 7.1.14), evaluated by the modified Lentz method (under 200 terms for x ≥ 1); it keeps full
//    relative precision in the tail, where 1 − erf(x) would cancel or round to 0.

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/√π

/** The complementary error function erfc(x) = (2/√π) ∫ₓ^∞ e^(−t²) dt. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 1) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // e^(−x²) underflows below the smallest double
  return expMinusSquare(x) * ONE_OVER_SQRT_PI * erfcContinuedFraction(x);
}

/** Two-sided p-value of a standard-normal statistic: P(|Z| ≥ |z|) = erfc(|z|/√2). */
export function normalTwoSidedP(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

/**
 * e^(−x²) without the rounding of x·x, which would cost up to ~x²·1e-16 relative error in the tail:
 * split x = h + l with h on a 1/16 grid, so h² is exact and x² − h² = l·(x + h) is small.
 */
function expMinusSquare(x: number): number {
  const h = Math.floor(x * 16) / 16;
  const l = x - h;
  return Math.exp(-h * h) * Math.exp(-l * (x + h));
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** 1/(x + a₁/(x + a₂/(x + …))) with aₖ = k/2, by modified Lentz. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 1000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}
