// From a study's store to its report data: one model per (run, checkpoint) with all its measures, and
// per measure Kendall's τ with the robust generalization gap — over all models, within each defense
// method, and granulated per axis (Jiang et al. 2020's ψ; Kim et al. 2023 report the same three) —
// each with a seeded percentile-bootstrap interval.
import { getMeasure } from '../measures/registry.js';
import type { ReportMeasure, ReportModel, ReportTauRow, StudyReportData, TauCell } from '../report/types.js';
import { bootstrapTauInterval } from '../stats/bootstrap.js';
import { granulatedTau } from '../stats/granulated.js';
import { kendallTauB } from '../stats/kendall.js';
import type { StudyPlan } from './plan.js';
import type { StudyStore } from './store/types.js';

/** Measures that define the gap: correlating them with it says nothing. */
const GAP_PARTS = new Set(['robust-gap', 'pgd-acc-train', 'pgd-acc-test']);

export interface AnalysisOptions {
  /** Bootstrap resamples per τ (default 1000); 0 skips the intervals. */
  bootstrapSamples?: number;
  /** Default 0.95. */
  level?: number;
  seed?: number;
}

export async function analyseStudy(store: StudyStore, study: string, o: AnalysisOptions = {}): Promise<StudyReportData> {
  const plan = await store.getPlan(study);
  if (!plan) throw new Error(`the store ${store.location} has no study '${study}' (it has: ${(await store.studies()).join(', ') || 'none'})`);
  const runs = await store.runs(study);
  const measurements = await store.measurements(study);
  const byModel = new Map<string, Record<string, number>>();
  for (const m of measurements) {
    const key = `${m.runId}/${m.checkpoint}`;
    const rec = byModel.get(key) ?? {};
    rec[m.measure] = m.value;
    byModel.set(key, rec);
  }
  const models: ReportModel[] = [];
  for (const run of runs) {
    for (const checkpoint of run.checkpoints) {
      const values = byModel.get(`${run.id}/${checkpoint}`);
      if (!values || !Number.isFinite(values['robust-gap'])) continue;
      const settings: Record<string, string | number | boolean> = { ...run.settings };
      if (plan.axes.includes('checkpoint')) settings.checkpoint = checkpoint;
      const defense = String(run.job?.defense ?? run.settings.defense ?? 'unknown') + (run.job?.awp ? '+awp' : '');
      models.push({
        id: `${run.id}/${checkpoint}`,
        label: [...Object.entries(settings).map(([k, v]) => `${k}=${v}`), ...(plan.axes.includes('checkpoint') ? [] : [checkpoint])].join(' · '),
        settings, defense,
        trainRobustAccuracy: values['pgd-acc-train']!, testRobustAccuracy: values['pgd-acc-test']!, gap: values['robust-gap']!,
        measures: values,
      });
    }
  }
  const defenses = [...new Set(models.map((m) => m.defense))];
  const names = plan.measures.filter((n) => !GAP_PARTS.has(n));
  const measures: ReportMeasure[] = names.map((n) => {
    const d = getMeasure(n);
    return { name: n, family: d.family, unit: d.unit, direction: d.direction, description: d.description };
  });
  const boot = (x: number[], y: number[], salt: number): { low: number; high: number } => (o.bootstrapSamples === 0
    ? { low: NaN, high: NaN }
    : bootstrapTauInterval(x, y, { samples: o.bootstrapSamples ?? 1000, level: o.level ?? 0.95, seed: (o.seed ?? 0) + salt }));
  const cell = (subset: ReportModel[], name: string, salt: number): TauCell => {
    const x = subset.map((m) => m.measures[name] ?? NaN);
    const y = subset.map((m) => m.gap);
    const { tau, n } = kendallTauB(x, y);
    return { tau, n, ...boot(x, y, salt) };
  };
  const tau: ReportTauRow[] = names.map((name, i) => {
    const g = granulatedTau(models.map((m) => ({ settings: m.settings, measure: m.measures[name] ?? NaN, gap: m.gap })), plan.axes);
    return {
      measure: name,
      overall: cell(models, name, 1000 * i),
      perDefense: Object.fromEntries(defenses.map((d, j) => [d, cell(models.filter((m) => m.defense === d), name, 1000 * i + j + 1)])),
      granulated: Object.fromEntries(plan.axes.map((a) => [a, g.perAxis[a]?.tau ?? NaN])),
      granulatedMean: g.mean,
    };
  });
  const secondsPerRun = runs.filter((r) => r.status === 'done').map((r) => (r.trainSeconds ?? 0) + (r.measureSeconds ?? 0));
  const avg = secondsPerRun.length ? secondsPerRun.reduce((a, b) => a + b, 0) / secondsPerRun.length : NaN;
  return {
    title: `Robustness measures vs. the robust generalization gap: ${plan.name}`,
    createdAt: new Date().toISOString(),
    study: { name: plan.name, dataset: plan.dataset, description: plan.description, specHash: plan.hash },
    axes: plan.axes, defenses, models, measures, tau,
    notes: [
      `${models.length} models (${runs.length} runs × checkpoints), ${plan.dataset}; gap = PGD-${plan.measureSettings.attack.steps} accuracy ` +
      `(${plan.measureSettings.attack.norm}, ε = ${+plan.measureSettings.attack.eps.toFixed(4)}) on the first ${plan.measureSettings.n} train − test examples.`,
      ...(Number.isFinite(avg) ? [`${avg.toFixed(1)} s per run on average (training + measures) over ${secondsPerRun.length} finished runs.`] : []),
    ],
  };
}

/** Plan summary for status output. */
export function describePlan(plan: StudyPlan): string {
  return `${plan.name}: ${plan.runs.length} runs × ${plan.runs[0]?.checkpoints.length ?? 0} checkpoint(s), ${plan.measures.length} measures, ` +
    `axes ${plan.axes.join(', ') || '(none)'}`;
}
