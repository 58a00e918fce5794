// The report's pictures as Vega-Lite specs (plain objects; vega → SVG renders them, nothing is drawn
// by hand):
//   - one scatter plot per measure, x = measure value, y = robust generalization gap (train − test
//     robust accuracy), colour = defense method, titled with the overall Kendall τ — the figures of
//     Kim, Park, Choi & Lee, "Fantastic Robustness Measures: The Secrets of Robust Generalization",
//     NeurIPS 2023, where a sign that flips between colours is the paper's main finding;
//   - train vs test robust accuracy of every model, with the line y = x (the gap is the distance below it);
//   - a heat-map of τ per measure × (overall, each defense method).
// Only models with a finite value enter a plot (the same models the τ is computed on), so the number of
// marks is the number of such models.
import type { TopLevelSpec } from 'vega-lite';
import { directionText, formatInterval, formatTau, formatValue } from './format.js';
import { defenseColors } from './palette.js';
import type { ReportMeasure, ReportModel, StudyReportData } from './types.js';

export const VEGA_LITE_SCHEMA_URL = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface ChartDefinition {
  /** File stem (plots/<name>.svg) and HTML anchor: 'scatter-<measure slug>', 'robust-accuracy', 'tau-heatmap'. */
  name: string;
  kind: 'measure-scatter' | 'robust-accuracy' | 'tau-heatmap';
  /** The measure a scatter plot shows. */
  measure?: string;
  /** Heading / caption for the page. */
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** Shared look: a font every renderer has, a quiet frame. */
const CONFIG = {
  font: 'DejaVu Sans, Verdana, sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' as const },
};

/** 'Input-gradient norm (L2)' → 'input-gradient-norm-l2'. */
export function slug(name: string): string {
  const s = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return s || 'measure';
}

/** The setting axes shown per model: the study's axes first, then any other setting keys, in first-seen order. */
export function settingKeys(data: StudyReportData): string[] {
  const keys = [...data.axes];
  for (const m of data.models) for (const k of Object.keys(m.settings)) if (!keys.includes(k)) keys.push(k);
  return keys;
}

/** The defenses in colour order: the study's list, then any a model names that the list lacks. */
export function defenseOrder(data: StudyReportData): string[] {
  const order = [...data.defenses];
  for (const m of data.models) if (!order.includes(m.defense)) order.push(m.defense);
  return order;
}

function colorEncoding(defenses: string[]) {
  const colors = defenseColors(defenses);
  return {
    field: 'defense', type: 'nominal' as const, title: 'defense',
    scale: { domain: defenses, range: defenses.map((d) => colors.get(d)!) },
    legend: { orient: 'right' as const },
  };
}

/** Row fields s0, s1, ... carry the settings (user axis names never become field names or expressions). */
function settingFields(model: ReportModel, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  keys.forEach((k, i) => { out[`s${i}`] = k in model.settings ? String(model.settings[k]) : ''; });
  return out;
}

function settingTooltips(keys: string[]) {
  return keys.map((k, i) => ({ field: `s${i}`, type: 'nominal' as const, title: k }));
}

/** Hover text of a mark (becomes the SVG <title> of the static picture; see render.ts). */
function tipText(model: ReportModel, keys: string[], extra: [string, string][]): string {
  const lines = [model.label, `defense: ${model.defense}`, ...extra.map(([k, v]) => `${k}: ${v}`)];
  for (const k of keys) if (k in model.settings && k !== 'defense') lines.push(`${k}: ${String(model.settings[k])}`);
  return lines.join('\n');
}

export function measureScatterSpec(data: StudyReportData, measure: ReportMeasure): TopLevelSpec {
  const keys = settingKeys(data);
  const defenses = defenseOrder(data);
  const rows = data.models
    .filter((m) => Number.isFinite(m.measures[measure.name]) && Number.isFinite(m.gap))
    .map((m) => {
      const value = m.measures[measure.name];
      return {
        id: m.id, label: m.label, defense: m.defense, value, gap: m.gap,
        tip: tipText(m, keys, [[measure.name, formatValue(value)], ['gap', m.gap.toFixed(4)]]),
        ...settingFields(m, keys),
      };
    });
  const row = data.tau.find((r) => r.measure === measure.name);
  const tauText = row && Number.isFinite(row.overall.tau)
    ? `τ = ${formatTau(row.overall.tau)} ${formatInterval(row.overall)} (n = ${row.overall.n})`.replace(/ +\(/, ' (')
    : 'τ not computed';
  // Norm products span orders of magnitude: a log axis when every value is positive and the range is wide.
  const values = rows.map((r) => r.value);
  const min = Math.min(...values), max = Math.max(...values);
  const logScale = values.length > 1 && min > 0 && max / min >= 1000;
  const unit = measure.unit ? ` (${measure.unit})` : '';
  return {
    $schema: VEGA_LITE_SCHEMA_URL,
    title: { text: `${measure.name}: ${tauText}`, subtitle: `${measure.family} · paper: ${directionText(measure)}` },
    width: 360,
    height: 260,
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 60, opacity: 0.85 },
    encoding: {
      x: {
        field: 'value', type: 'quantitative', title: `${measure.name}${unit}${logScale ? ', log scale' : ''}`,
        scale: logScale ? { type: 'log' } : { zero: false },
      },
      y: { field: 'gap', type: 'quantitative', title: 'robust generalization gap', scale: { zero: false } },
      color: colorEncoding(defenses),
      tooltip: [
        { field: 'label', type: 'nominal', title: 'model' },
        { field: 'defense', type: 'nominal', title: 'defense' },
        { field: 'value', type: 'quantitative', title: measure.name, format: '.4~g' },
        { field: 'gap', type: 'quantitative', title: 'gap', format: '.4f' },
        ...settingTooltips(keys),
      ],
      description: { field: 'tip', type: 'nominal' },
    },
    config: CONFIG,
  };
}

export function robustAccuracySpec(data: StudyReportData): TopLevelSpec {
  const keys = settingKeys(data);
  const defenses = defenseOrder(data);
  const rows = data.models
    .filter((m) => Number.isFinite(m.trainRobustAccuracy) && Number.isFinite(m.testRobustAccuracy))
    .map((m) => ({
      id: m.id, label: m.label, defense: m.defense, train: m.trainRobustAccuracy, test: m.testRobustAccuracy, gap: m.gap,
      tip: tipText(m, keys, [['train robust accuracy', m.trainRobustAccuracy.toFixed(4)],
        ['test robust accuracy', m.testRobustAccuracy.toFixed(4)], ['gap', m.gap.toFixed(4)]]),
      ...settingFields(m, keys),
    }));
  // A square domain shared by both axes (so y = x is the diagonal), padded to the next 0.05.
  const all = rows.flatMap((r) => [r.train, r.test]);
  let lo = all.length ? Math.max(0, Math.floor((Math.min(...all) - 0.01) / 0.05) * 0.05) : 0;
  let hi = all.length ? Math.min(1, Math.ceil((Math.max(...all) + 0.01) / 0.05) * 0.05) : 1;
  if (!(hi > lo)) { lo = Math.max(0, lo - 0.05); hi = Math.min(1, hi + 0.05); }
  lo = Number(lo.toFixed(2)); hi = Number(hi.toFixed(2));
  const scale = { domain: [lo, hi], nice: false, zero: false };
  return {
    $schema: VEGA_LITE_SCHEMA_URL,
    title: { text: 'Train vs test robust accuracy', subtitle: 'distance below the line y = x is the robust generalization gap' },
    width: 300,
    height: 300,
    layer: [
      {
        data: { values: [{ train: lo, test: lo }, { train: hi, test: hi }] },
        mark: { type: 'line', color: '#888', strokeDash: [4, 4], strokeWidth: 1 },
        encoding: {
          x: { field: 'train', type: 'quantitative', title: 'train robust accuracy', scale },
          y: { field: 'test', type: 'quantitative', title: 'test robust accuracy', scale },
        },
      },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, size: 60, opacity: 0.85 },
        encoding: {
          x: { field: 'train', type: 'quantitative', title: 'train robust accuracy', scale },
          y: { field: 'test', type: 'quantitative', title: 'test robust accuracy', scale },
          color: colorEncoding(defenses),
          tooltip: [
            { field: 'label', type: 'nominal', title: 'model' },
            { field: 'defense', type: 'nominal', title: 'defense' },
            { field: 'train', type: 'quantitative', title: 'train robust accuracy', format: '.4f' },
            { field: 'test', type: 'quantitative', title: 'test robust accuracy', format: '.4f' },
            { field: 'gap', type: 'quantitative', title: 'gap', format: '.4f' },
            ...settingTooltips(keys),
          ],
          description: { field: 'tip', type: 'nominal' },
        },
      },
    ],
    config: CONFIG,
  };
}

/** τ per measure (rows) × overall and each defense (columns); cells without a τ stay empty. */
export function tauHeatmapSpec(data: StudyReportData): TopLevelSpec {
  const defenses = defenseOrder(data);
  const columns = ['overall', ...defenses];
  const measures = data.tau.map((r) => r.measure);
  const cells = data.tau.flatMap((r) => [
    { measure: r.measure, column: 'overall', cell: r.overall },
    ...defenses.filter((d) => r.perDefense[d]).map((d) => ({ measure: r.measure, column: d, cell: r.perDefense[d] })),
  ]).filter((c) => Number.isFinite(c.cell.tau)).map((c) => ({
    measure: c.measure, column: c.column, tau: c.cell.tau, text: formatTau(c.cell.tau, 2),
    tip: `${c.measure} · ${c.column}\nτ = ${formatTau(c.cell.tau)} ${formatInterval(c.cell)}\nn = ${c.cell.n}`,
  }));
  const x = { field: 'column', type: 'nominal' as const, title: null, sort: columns, axis: { orient: 'top' as const, labelAngle: 0, grid: false, ticks: false, domain: false } };
  const y = { field: 'measure', type: 'nominal' as const, title: null, sort: measures, axis: { grid: false, ticks: false, domain: false, labelLimit: 320 } };
  return {
    $schema: VEGA_LITE_SCHEMA_URL,
    title: { text: 'Kendall τ with the robust generalization gap', subtitle: 'overall and within each defense method' },
    data: { values: cells },
    width: { step: 70 },
    height: { step: 26 },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          x, y,
          color: { field: 'tau', type: 'quantitative', title: 'τ', scale: { scheme: 'redblue', domain: [-1, 1] } },
          description: { field: 'tip', type: 'nominal' },
        },
      },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          x, y,
          text: { field: 'text', type: 'nominal' },
          color: { condition: { test: 'abs(datum.tau) > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
    config: CONFIG,
  };
}

/** Every picture of the report, scatter plots in the order of the measures. */
export function reportCharts(data: StudyReportData): ChartDefinition[] {
  const charts: ChartDefinition[] = [];
  const taken = new Set<string>(['robust-accuracy', 'tau-heatmap']);
  for (const m of data.measures) {
    let name = `scatter-${slug(m.name)}`;
    for (let i = 2; taken.has(name); i++) name = `scatter-${slug(m.name)}-${i}`;
    taken.add(name);
    charts.push({
      name, kind: 'measure-scatter', measure: m.name, title: m.name,
      caption: `${m.description} Paper: ${directionText(m)}.`, spec: measureScatterSpec(data, m),
    });
  }
  charts.push({
    name: 'robust-accuracy', kind: 'robust-accuracy', title: 'Train vs test robust accuracy',
    caption: 'Each model\'s robust accuracy on its training examples against its test examples; the gap is the vertical distance below y = x.',
    spec: robustAccuracySpec(data),
  });
  if (data.tau.length > 0) {
    charts.push({
      name: 'tau-heatmap', kind: 'tau-heatmap', title: 'τ per measure and defense',
      caption: 'Kendall τ between each measure and the gap, over all models and within each defense method (red: τ < 0, blue: τ > 0).',
      spec: tauHeatmapSpec(data),
    });
  }
  return charts;
}
