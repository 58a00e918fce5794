// How the numbers of a study report read, shared by the HTML page and the terminal table, and the
// reading of a τ's sign against the measure's paper.
//
// Kendall τ is taken between a measure and the robust generalization gap (train − test robust
// accuracy; Kim, Park, Choi & Lee, NeurIPS 2023). A measure whose paper says "larger value ↔ smaller
// gap" (direction +1) therefore expects τ < 0, and direction −1 expects τ > 0; a τ of the other sign
// disagrees with the paper — the paper's main finding is how often that happens.
import type { ReportMeasure, TauCell } from './types.js';

/** '+0.412', '-0.050', '0.000'; '—' for NaN (not computed). ASCII signs so terminal output pastes cleanly. */
export function formatTau(tau: number, digits = 3): string {
  if (!Number.isFinite(tau)) return '—';
  const s = Math.abs(tau).toFixed(digits);
  if (Number(s) === 0) return s;
  return (tau > 0 ? '+' : '-') + s;
}

/** '[+0.20, +0.58]'; '' when the interval was not computed. */
export function formatInterval(cell: Pick<TauCell, 'low' | 'high'>, digits = 2): string {
  if (!Number.isFinite(cell.low) || !Number.isFinite(cell.high)) return '';
  return `[${formatTau(cell.low, digits)}, ${formatTau(cell.high, digits)}]`;
}

/** Fraction → '87.50 %'. */
export function formatPercent(x: number, digits = 2): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(digits)} %` : '—';
}

/** A measure's value with 4 significant digits (exponent form outside [1e-3, 1e5)). */
export function formatValue(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

/** The sign of τ the measure's paper predicts: −direction (see the file comment); 0 when no claim. */
export function expectedTauSign(measure: Pick<ReportMeasure, 'direction'> | undefined): -1 | 0 | 1 {
  if (!measure || measure.direction === 0) return 0;
  return measure.direction === 1 ? -1 : 1;
}

/**
 * true when τ has the sign opposite to the paper's prediction, false when it agrees, null when either
 * is missing (no claim, τ not computed, or τ exactly 0).
 */
export function signDisagrees(tau: number, measure: Pick<ReportMeasure, 'direction'> | undefined): boolean | null {
  const expected = expectedTauSign(measure);
  if (expected === 0 || !Number.isFinite(tau) || tau === 0) return null;
  return Math.sign(tau) !== expected;
}

/** Words for the paper's claim, e.g. 'larger → smaller gap (τ < 0)'. */
export function directionText(measure: Pick<ReportMeasure, 'direction'>): string {
  if (measure.direction === 1) return 'larger → smaller gap (τ < 0)';
  if (measure.direction === -1) return 'larger → larger gap (τ > 0)';
  return 'no claim';
}
