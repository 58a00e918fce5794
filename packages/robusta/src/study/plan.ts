// A spec expanded into its runs. A grid spec gives one training run per combination of the training
// axes (the checkpoint axis costs no training: each run is measured at each listed checkpoint); a
// checkpoint spec gives one run per listed model. A run's id is a content hash of everything that
// determines its result (dataset, resolved training settings, gap attack, measure settings), so
// editing a spec keeps the runs it still contains and adds the new ones.
import { createHash } from 'node:crypto';
import { resolve, dirname } from 'node:path';
import { type MeasureSettings } from '../measures/types.js';
import { resolveSettings } from '../measures/context.js';
import { selectMeasures } from '../measures/registry.js';
import { type DatasetName, recipeOf } from '../train/catalog.js';
import type { TrainJob } from '../train/job.js';
import { CHECKPOINTS, type CheckpointName, type StudySpec, TRAINING_AXES, type TrainingField } from './spec.js';

/** The measures every study records: the gap is what the others are correlated with. */
export const REQUIRED_MEASURES = ['pgd-acc-train', 'pgd-acc-test', 'robust-gap', 'clean-acc-train', 'clean-acc-test'] as const;

export interface PlannedRun {
  /** Content hash (16 hex digits). */
  id: string;
  /** Position in the spec's expansion (runs are claimed in this order). */
  index: number;
  /** The axis values that vary in this study (without checkpoint), for labels, colours and granulated τ. */
  settings: Record<string, string | number | boolean>;
  /** Grid runs: the training job (its `out` is set by the executor). */
  job: Omit<TrainJob, 'out'> | null;
  /** Checkpoint runs: the given model. */
  given: { model: string; weights: string; init: string | null; name: string } | null;
  checkpoints: CheckpointName[];
}

export interface StudyPlan {
  name: string;
  description: string;
  dataset: DatasetName;
  kind: 'grid' | 'checkpoints';
  /** Axes that take more than one value (and 'checkpoint' when two are measured). */
  axes: string[];
  runs: PlannedRun[];
  measures: string[];
  measureSettings: MeasureSettings;
  /** Where runs train and are measured (not part of a run's id: the same experiment on another device). */
  execution: { workers: number | null; threads: number | null; device?: string | null };
  /** Hash of the resolved plan (runs and measures). */
  hash: string;
}

const JOB_KEYS: Record<TrainingField, keyof TrainJob> = {
  model: 'model', defense: 'defense', epochs: 'epochs', batch_size: 'batchSize', n_train: 'nTrain', eps: 'eps', alpha: 'alpha',
  steps: 'steps', beta: 'beta', awp: 'awp', lr: 'lr', momentum: 'momentum', weight_decay: 'weightDecay', schedule: 'schedule',
  augment: 'augment', eval_n: 'evalN', seed: 'seed',
};

/** Defaults a grid run gets when neither base nor an axis sets them. */
const JOB_DEFAULTS = { model: 'mnist-cnn', defense: 'standard', epochs: 10, batchSize: 128, seed: 0 } as const;

export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with object keys sorted, so equal contents hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

/** Every combination of the axes' values, the first axis varying slowest. */
function product(axes: [string, unknown[]][]): Record<string, unknown>[] {
  return axes.reduce<Record<string, unknown>[]>((acc, [k, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [k]: v }))), [{}]);
}

/** Expands a spec; `specDir` resolves relative checkpoint paths. */
export function planStudy(spec: StudySpec, specDir = '.'): StudyPlan {
  const dataset = spec.dataset as DatasetName;
  const recipe = recipeOf(dataset);
  const skipped = new Set(spec.skip_measures ?? []);
  const names = selectMeasures(spec.measures ?? 'all').map((m) => m.name).filter((n) => !skipped.has(n));
  for (const r of REQUIRED_MEASURES) if (!names.includes(r)) names.push(r);
  const gap = spec.gap ?? {};
  const trainingEps = spec.kind === 'grid' ? (spec.base?.eps ?? recipe.attack.eps) : recipe.attack.eps;
  const eps = gap.eps ?? trainingEps;
  const ms = spec.measure_settings ?? {};
  const measureSettings = resolveSettings({
    n: ms.n ?? gap.n ?? 1000, batchSize: ms.batch_size ?? 200, seed: ms.seed ?? 0,
    attack: { norm: gap.norm ?? 'Linf', eps, steps: gap.steps ?? 10, alpha: gap.alpha },
  });
  const common = { dataset, measureSettings, measures: names };
  const runs: PlannedRun[] = [];
  let axesShown: string[];
  if (spec.kind === 'grid') {
    const axisEntries = TRAINING_AXES.filter((k) => spec.axes?.[k] !== undefined).map((k) => [k, spec.axes![k] as unknown[]] as [string, unknown[]]);
    const checkpoints = (spec.axes?.checkpoint as CheckpointName[] | undefined) ?? ['last'];
    axesShown = axisEntries.filter(([, v]) => new Set(v.map((x) => JSON.stringify(x))).size > 1).map(([k]) => k);
    if (new Set(checkpoints).size > 1) axesShown.push('checkpoint');
    const seen = new Set<string>();
    product(axisEntries).forEach((cell) => {
      const merged: Record<string, unknown> = { ...spec.base, ...cell };
      const job: Record<string, unknown> = { ...JOB_DEFAULTS, dataset };
      for (const [field, value] of Object.entries(merged)) {
        const key = JOB_KEYS[field as TrainingField];
        if (field === 'awp') {
          if (typeof value === 'number' && value > 0) job.awp = value;
        } else if (value !== undefined) job[key] = value;
      }
      if (job.awp !== undefined && (job.defense === 'standard' || job.defense === 'fast-at')) delete job.awp; // AWP wraps AT/TRADES/MART only
      const settings = Object.fromEntries(axisEntries.map(([k]) => [k, displayValue(k, merged[k])]));
      const id = hashOf({ job, ...common }).slice(0, 16);
      if (seen.has(id)) return; // e.g. awp on standard training collapses onto the run without it
      seen.add(id);
      runs.push({ id, index: runs.length, settings, job: job as unknown as Omit<TrainJob, 'out'>, given: null, checkpoints: [...new Set(checkpoints)] });
    });
  } else {
    const keys = [...new Set(spec.models.flatMap((m) => Object.keys(m.settings ?? {})))];
    axesShown = keys.filter((k) => new Set(spec.models.map((m) => JSON.stringify(m.settings?.[k]))).size > 1);
    spec.models.forEach((m) => {
      const weights = resolve(specDir, m.weights);
      const given = { model: m.model, weights, init: m.init ? resolve(specDir, m.init) : null, name: m.name ?? weights.split('/').pop()! };
      const settings = Object.fromEntries(keys.map((k) => [k, m.settings?.[k] ?? '-']));
      const id = hashOf({ given: { model: m.model, weights }, ...common }).slice(0, 16);
      runs.push({ id, index: runs.length, settings, job: null, given, checkpoints: ['given'] });
    });
  }
  const plan = {
    name: spec.name, description: spec.description ?? '', dataset, kind: spec.kind, axes: axesShown, runs,
    measures: names, measureSettings, execution: {
      workers: spec.execution?.workers ?? null, threads: spec.execution?.threads ?? null, device: spec.execution?.device ?? null,
    },
  };
  return { ...plan, hash: hashOf({ runs: runs.map((r) => r.id), measures: names }).slice(0, 16) };
}

function displayValue(axis: string, v: unknown): string | number | boolean {
  if (axis === 'awp') return typeof v === 'number' && v > 0 ? v : 'off';
  return v as string | number | boolean;
}

export const specDirOf = (path: string): string => dirname(resolve(path));
export { CHECKPOINTS };
