// The correlation table of a study for people (an aligned text table for the terminal) and for
// programs (`robusta study report --json`): per measure, Kendall τ with the robust generalization gap
// over all models with its bootstrap interval, within each defense method, the granulated τ per
// setting axis and their mean Ψ (Kim et al., NeurIPS 2023; Jiang et al., ICLR 2020), and whether each
// sign agrees with the direction the measure's own paper predicts.
import { defenseOrder } from './charts.js';
import { expectedTauSign, formatInterval, formatTau, signDisagrees } from './format.js';
import type { ReportMeasure, StudyReportData, TauCell } from './types.js';

export interface TauCellJson {
  tau: number | null;
  low: number | null;
  high: number | null;
  n: number;
  /** true: opposite to the paper's prediction; false: agrees; null: no claim or no τ. */
  disagreesWithPaper: boolean | null;
}

export interface TauRowJson {
  measure: string;
  family: string | null;
  unit: string | null;
  direction: 1 | -1 | 0 | null;
  /** The sign of τ the measure's paper predicts (−direction), 0 when it makes no claim. */
  expectedSign: -1 | 0 | 1 | null;
  overall: TauCellJson;
  perDefense: Record<string, TauCellJson>;
  granulated: Record<string, number | null>;
  granulatedMean: number | null;
}

export interface TauTableJson {
  title: string;
  study: string;
  dataset: string;
  createdAt: string;
  models: number;
  defenses: string[];
  axes: string[];
  rows: TauRowJson[];
}

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

function cellJson(cell: TauCell, measure: ReportMeasure | undefined): TauCellJson {
  return { tau: num(cell.tau), low: num(cell.low), high: num(cell.high), n: cell.n, disagreesWithPaper: signDisagrees(cell.tau, measure) };
}

/** The table as one JSON-ready object (NaN → null). */
export function tauTableJson(data: StudyReportData): TauTableJson {
  const measures = new Map(data.measures.map((m) => [m.name, m]));
  return {
    title: data.title,
    study: data.study.name,
    dataset: data.study.dataset,
    createdAt: data.createdAt,
    models: data.models.length,
    defenses: defenseOrder(data),
    axes: [...data.axes],
    rows: data.tau.map((r) => {
      const m = measures.get(r.measure);
      return {
        measure: r.measure,
        family: m?.family ?? null,
        unit: m?.unit ?? null,
        direction: m?.direction ?? null,
        expectedSign: m ? expectedTauSign(m) : null,
        overall: cellJson(r.overall, m),
        perDefense: Object.fromEntries(Object.entries(r.perDefense).map(([d, c]) => [d, cellJson(c, m)])),
        granulated: Object.fromEntries(Object.entries(r.granulated).map(([a, t]) => [a, num(t)])),
        granulatedMean: num(r.granulatedMean),
      };
    }),
  };
}

const width = (s: string): number => [...s].length;

/**
 * An aligned text table, e.g.
 *   measure        τ       interval          n   τ|at     τ|trades  ψ|arch   Ψ       paper
 *   input-grad    +0.412  [+0.20, +0.58]   24  +0.300   -0.100!   +0.250   +0.180  τ<0
 * '!' marks a sign opposite to the paper's prediction, '—' a τ that was not computed.
 */
export function renderTauTableText(data: StudyReportData): string {
  const measures = new Map(data.measures.map((m) => [m.name, m]));
  const defenses = defenseOrder(data).filter((d) => data.tau.some((r) => r.perDefense[d]));
  const axes = [...data.axes];
  for (const r of data.tau) for (const a of Object.keys(r.granulated)) if (!axes.includes(a)) axes.push(a);

  const mark = (tau: number, m: ReportMeasure | undefined): string => formatTau(tau) + (signDisagrees(tau, m) ? '!' : ' ');
  const header = ['measure', 'τ', 'interval', 'n', ...defenses.map((d) => `τ|${d}`), ...axes.map((a) => `ψ|${a}`), 'Ψ', 'paper'];
  const body = data.tau.map((r) => {
    const m = measures.get(r.measure);
    const expected = expectedTauSign(m);
    return [
      r.measure, mark(r.overall.tau, m), formatInterval(r.overall), String(r.overall.n),
      ...defenses.map((d) => mark(r.perDefense[d]?.tau ?? NaN, m)),
      ...axes.map((a) => mark(r.granulated[a] ?? NaN, m)),
      mark(r.granulatedMean, m),
      m === undefined ? '?' : expected < 0 ? 'τ<0' : expected > 0 ? 'τ>0' : '—',
    ];
  });
  const rows = [header, ...body];
  const widths = header.map((_, j) => Math.max(...rows.map((row) => width(row[j]))));
  // First and last columns are words (left), the rest numbers (right).
  const leftAligned = (j: number) => j === 0 || j === header.length - 1;
  const line = (row: string[]) => row.map((cell, j) => {
    const pad = ' '.repeat(widths[j] - width(cell));
    return leftAligned(j) ? cell + pad : pad + cell;
  }).join('  ').trimEnd();
  const out = [line(header), line(header.map((_, j) => '-'.repeat(widths[j]))), ...body.map(line)];
  out.push('', `${data.models.length} models · τ: Kendall τ with the robust generalization gap · ψ: granulated τ per axis, Ψ their mean`,
    "! sign opposite to the measure's paper · — not computed");
  return out.join('\n');
}
