// The dashboard's own charts as Vega-Lite specs (the page renders them with vega-embed; nothing is
// drawn by hand): a training run's per-epoch loss and accuracy curves, an attack's loss over the
// model calls, and top-5 class probabilities before and after. Data sets are named so that the page
// can append live rows (a new epoch, new loss points) without rebuilding the chart. Every mark has a
// description, which becomes its accessible label (and what the tests read).
import type { TopLevelSpec } from 'vega-lite';
import type { LossPoint, TopClass } from './attack-protocol.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = {
  font: 'DejaVu Sans, Verdana, sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13, anchor: 'start' as const },
};

export interface CurveRow {
  epoch: number;
  series: string;
  value: number;
  tip: string;
}

/** The accuracy series of metrics.jsonl (robusta/train's EpochMetrics), train vs test, clean vs robust. */
export const ACCURACY_SERIES: readonly { field: string; series: string }[] = [
  { field: 'train_clean_acc', series: 'train clean' },
  { field: 'train_robust_acc', series: 'train robust' },
  { field: 'test_clean_acc', series: 'test clean' },
  { field: 'test_pgd_acc', series: 'test robust (PGD)' },
];

const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3));

/** Per-epoch rows of a run's history: the training loss, and each accuracy series that has values. */
export function runCurveRows(history: Record<string, unknown>[]): { loss: CurveRow[]; accuracy: CurveRow[] } {
  const loss: CurveRow[] = [];
  const accuracy: CurveRow[] = [];
  for (const h of history) {
    const epoch = Number(h.epoch);
    if (!Number.isFinite(epoch)) continue;
    if (typeof h.loss === 'number' && Number.isFinite(h.loss)) {
      loss.push({ epoch, series: 'training loss', value: h.loss, tip: `epoch ${epoch}: training loss ${fmt(h.loss)}` });
    }
    for (const s of ACCURACY_SERIES) {
      const v = h[s.field];
      if (typeof v === 'number' && Number.isFinite(v)) accuracy.push({ epoch, series: s.series, value: v, tip: `epoch ${epoch}: ${s.series} ${fmt(v)}` });
    }
  }
  return { loss, accuracy };
}

function curveSpec(name: string, title: string, yTitle: string, rows: CurveRow[], series: string[], yDomain?: [number, number]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    width: 420,
    height: 240,
    autosize: { type: 'pad', resize: true },
    data: { name, values: rows },
    mark: { type: 'line', point: { filled: true, size: 50 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: yDomain ? { domain: yDomain } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: series }, legend: { orient: 'bottom' } },
      strokeDash: series.length > 1
        ? { field: 'series', type: 'nominal', legend: null, scale: { domain: series, range: series.map((s) => (s.startsWith('test') ? [5, 3] : [1, 0])) } }
        : { value: [1, 0] },
      tooltip: [
        { field: 'series', type: 'nominal' }, { field: 'epoch', type: 'quantitative' },
        { field: 'value', type: 'quantitative', format: '.4f' },
      ],
      description: { field: 'tip', type: 'nominal' },
    },
    config: CONFIG,
  };
}

export function lossCurveSpec(rows: CurveRow[]): TopLevelSpec {
  return curveSpec('loss', 'Training loss per epoch', 'loss', rows, ['training loss']);
}

export function accuracyCurveSpec(rows: CurveRow[]): TopLevelSpec {
  return curveSpec('accuracy', 'Accuracy per epoch: train vs test, clean vs robust', 'accuracy', rows, ACCURACY_SERIES.map((s) => s.series), [0, 1]);
}

export interface AttackLossRow {
  call: number;
  series: string;
  value: number;
  kind: string;
  tip: string;
}

/** Loss points of an attack as rows: the label's cross-entropy, and the target's in targeted mode. */
export function attackLossRows(points: LossPoint[]): AttackLossRow[] {
  return points.flatMap((p) => {
    const kind = p.gradient ? 'gradient step' : 'query';
    const rows: AttackLossRow[] = [{ call: p.call, series: 'CE(label)', value: p.loss, kind, tip: `call ${p.call} (${kind}): CE(label) ${fmt(p.loss)}` }];
    if (p.targetLoss !== null) rows.push({ call: p.call, series: 'CE(target)', value: p.targetLoss, kind, tip: `call ${p.call} (${kind}): CE(target) ${fmt(p.targetLoss)}` });
    return rows;
  });
}

export function attackLossSpec(): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Cross-entropy at every model call (live)',
    width: 420,
    height: 200,
    // Rows arrive while it is drawn: lay the axes out again for each new range.
    autosize: { type: 'pad', resize: true },
    data: { name: 'points', values: [] },
    mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'call', type: 'quantitative', title: 'model call', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: 'cross-entropy', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['CE(label)', 'CE(target)'] }, legend: { orient: 'bottom' } },
      tooltip: [{ field: 'series', type: 'nominal' }, { field: 'call', type: 'quantitative' }, { field: 'kind', type: 'nominal' },
        { field: 'value', type: 'quantitative', format: '.5f' }],
      description: { field: 'tip', type: 'nominal' },
    },
    config: CONFIG,
  };
}

/** Top-5 class probabilities as horizontal bars. */
export function topClassesSpec(title: string, top: TopClass[], color: string): TopLevelSpec {
  const rows = top.map((t, rank) => ({
    rank, label: `${t.index}: ${t.name}`, probability: t.probability,
    tip: `${t.index}: ${t.name} ${(t.probability * 100).toFixed(2)} %`,
  }));
  return {
    $schema: SCHEMA,
    title,
    width: 220,
    height: { step: 22 },
    data: { name: 'top', values: rows },
    mark: { type: 'bar', color },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: { field: 'rank', order: 'ascending' }, axis: { labelLimit: 140 } },
      x: { field: 'probability', type: 'quantitative', title: 'probability', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      tooltip: [{ field: 'label', type: 'nominal', title: 'class' }, { field: 'probability', type: 'quantitative', format: '.4%' }],
      description: { field: 'tip', type: 'nominal' },
    },
    config: CONFIG,
  };
}
