// A study spec: one YAML (or JSON) file that names a dataset, a base training recipe, the axes to vary
// (each value of each axis crossed with all others), the PGD of the robust generalization gap, and the
// measures. A second kind lists existing checkpoints instead of a grid. Validation errors name the
// line of the spec they come from:  "tiny.yaml:7:12: axes.defense[1]: unknown defense 'at2' (standard, at, ...)".
//
//   name: mnist-mini            dataset: mnist
//   base: { model: mnist-cnn, epochs: 2, batch_size: 128, n_train: 2000, eps: 0.1, alpha: 0.025, steps: 5, lr: 0.01 }
//   axes: { defense: [standard, at, trades, mart], model: [mnist-cnn, mnist-mlp], n_train: [1000, 4000], checkpoint: [best, last] }
//   gap: { eps: 0.1, steps: 10, n: 1000 }
//   measures: all                # or cheap, or a list of names
//   skip_measures: [input-margin-linf]
//   measure_settings: { n: 1000, batch_size: 250 }
//   execution: { workers: 2, threads: 1, device: cpu }     # or cuda, cuda:1 (a CUDA libtorch)
//   slurm: { partition: gpu, gpus: 1, cpus_per_task: 8, mem: 32G, time: '12:00:00', array_parallelism: 16, shared_dir: /shared/studies/mini }
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { listMeasures } from '../measures/registry.js';
import { MODEL_NAMES } from '../models/registry.js';
import { DATASETS, DEFENSES, SCHEDULES } from '../train/catalog.js';

/** A spec that cannot be used: every problem found, each with file:line:column. */
export class StudySpecError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} problems in the study spec:\n  ${problems.join('\n  ')}`);
    this.name = 'StudySpecError';
  }
}

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();
const modelName = z.enum(MODEL_NAMES as unknown as [string, ...string[]], { error: (i) => `unknown model ${JSON.stringify(i.input)} (known: ${MODEL_NAMES.join(', ')})` });
const defenseName = z.enum(DEFENSES as unknown as [string, ...string[]], { error: (i) => `unknown defense ${JSON.stringify(i.input)} (known: ${DEFENSES.join(', ')})` });
const scheduleName = z.enum(SCHEDULES as unknown as [string, ...string[]], { error: (i) => `unknown schedule ${JSON.stringify(i.input)} (known: ${SCHEDULES.join(', ')})` });
/** AWP's γ, or off (false, null, 'off', 0). */
const awpValue = z.union([z.number().nonnegative(), z.literal(false), z.null(), z.literal('off')]);

/** The training settings a spec may fix in `base` and vary in `axes` (the spec's snake_case names). */
const TRAINING_FIELDS = {
  model: modelName,
  defense: defenseName,
  epochs: positiveInt,
  batch_size: positiveInt,
  n_train: positiveInt,
  eps: nonNegative,
  alpha: nonNegative,
  steps: positiveInt,
  beta: nonNegative,
  awp: awpValue,
  lr: z.number().positive(),
  momentum: nonNegative,
  weight_decay: nonNegative,
  schedule: scheduleName,
  augment: z.boolean(),
  eval_n: positiveInt,
  seed: z.number().int().nonnegative(),
};
export type TrainingField = keyof typeof TRAINING_FIELDS;
export const TRAINING_AXES = Object.keys(TRAINING_FIELDS) as TrainingField[];
/** Checkpoint is an axis that costs no training: each trained run is measured at its best and last epoch. */
export const CHECKPOINTS = ['best', 'last'] as const;
export type CheckpointName = (typeof CHECKPOINTS)[number] | 'given';

const base = z.object(TRAINING_FIELDS).partial().strict();
const axes = z.object({
  ...Object.fromEntries(Object.entries(TRAINING_FIELDS).map(([k, v]) => [k, z.array(v).min(1, `axis '${k}' needs at least one value`)])),
  checkpoint: z.array(z.enum(CHECKPOINTS, { error: (i) => `unknown checkpoint ${JSON.stringify(i.input)} (best, last)` })).min(1),
} as Record<string, z.ZodType>).partial().strict();

const measureNames = () => listMeasures().map((m) => m.name);
const measureSelection = z.union([
  z.literal('all'), z.literal('cheap'),
  z.array(z.string().refine((n) => n === 'all' || n === 'cheap' || measureNames().includes(n), {
    error: (i) => `unknown measure ${JSON.stringify(i.input)} (known: ${measureNames().join(', ')})`,
  })).min(1),
]);

const gap = z.object({
  norm: z.enum(['Linf', 'L2']).optional(),
  eps: nonNegative.optional(),
  alpha: nonNegative.optional(),
  steps: positiveInt.optional(),
  n: positiveInt.optional(),
}).strict();

const measureSettings = z.object({ n: positiveInt.optional(), batch_size: positiveInt.optional(), seed: z.number().int().nonnegative().optional() }).strict();
const execution = z.object({
  workers: positiveInt.optional(),
  threads: positiveInt.optional(),
  device: z.string().regex(/^(cpu|cuda(:\d+)?)$/, 'device: cpu, cuda or cuda:N').optional(),
}).strict();

/** Slurm's --time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (or a number of minutes). */
const SLURM_TIME = /^(\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2})$/;
/** Resources of the Slurm job array (robusta study run --executor slurm); none changes a run's result. */
const slurm = z.object({
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  /** GPUs per task (--gres=gpu:N). */
  gpus: z.number().int().nonnegative().optional(),
  cpus_per_task: positiveInt.optional(),
  mem: z.union([positiveInt, z.string().regex(/^\d+[KMGT]?$/, "mem: a size as Slurm writes it (16G, 4000M, 4000)")]).optional(),
  time: z.union([positiveInt, z.string().regex(SLURM_TIME, "time: minutes, HH:MM:SS or D-HH:MM:SS (Slurm's --time)")]).optional(),
  /** At most this many tasks run at once (--array=0-N%P). */
  array_parallelism: positiveInt.optional(),
  /** Runs per array task (default 1: one task per run). */
  runs_per_task: positiveInt.optional(),
  /** A folder every node sees: run folders (checkpoints), sbatch scripts and task logs. */
  shared_dir: z.string().min(1).optional(),
  /** Shell lines run before the worker (module load cuda, export LIBTORCH=...). */
  setup: z.string().optional(),
}).strict();

const givenModel = z.object({
  /** A label for plots and tables (default: the file name). */
  name: z.string().min(1).optional(),
  model: modelName,
  weights: z.string().min(1),
  /** Weights at initialisation, for distance from initialisation (optional). */
  init: z.string().min(1).optional(),
  /** Axis values of this model (e.g. defense: at), for colours and granulated τ. */
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
}).strict();

const common = {
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'name: letters, digits, -, _ and . only'),
  description: z.string().optional(),
  dataset: z.enum(DATASETS as unknown as [string, ...string[]], { error: (i) => `unknown dataset ${JSON.stringify(i.input)} (known: ${DATASETS.join(', ')})` }),
  gap: gap.optional(),
  measures: measureSelection.optional(),
  /** Measures left out of the selection (e.g. the expensive FAB input margin on a CPU). */
  skip_measures: z.array(z.string().refine((n) => measureNames().includes(n), {
    error: (i) => `unknown measure ${JSON.stringify(i.input)} (known: ${measureNames().join(', ')})`,
  })).optional(),
  measure_settings: measureSettings.optional(),
  execution: execution.optional(),
  slurm: slurm.optional(),
};

const gridSpec = z.object({ ...common, base: base.optional(), axes: axes.optional() }).strict();
const checkpointSpec = z.object({ ...common, models: z.array(givenModel).min(1) }).strict();

export type GridSpec = z.infer<typeof gridSpec>;
export type CheckpointSpec = z.infer<typeof checkpointSpec>;
export type StudySpec = (GridSpec & { kind: 'grid' }) | (CheckpointSpec & { kind: 'checkpoints' });
export type TrainingSettings = Partial<Record<TrainingField, unknown>>;
export type SlurmSection = z.infer<typeof slurm>;

/** Parses and validates spec text (YAML or JSON); `source` names the file in messages. */
export function parseStudySpec(text: string, source = 'spec'): StudySpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined) => {
    if (offset === undefined) return source;
    const p = lines.linePos(offset);
    return `${source}:${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) throw new StudySpecError(doc.errors.map((e) => `${where(e.pos[0])}: ${e.message.split('\n')[0]}`));
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new StudySpecError([`${source}: a study spec is a mapping (name, dataset, base/axes or models, ...)`]);
  const isCheckpoints = 'models' in (raw as object);
  const schema = isCheckpoints ? checkpointSpec : gridSpec;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      // Point at the deepest node of the path that exists (an unknown key: the key itself).
      const path = [...issue.path] as (string | number)[];
      if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
      let offset: number | undefined;
      for (let k = path.length; k >= 0 && offset === undefined; k--) {
        const sub = path.slice(0, k);
        const node = sub.length === 0 ? doc.contents : doc.getIn(sub, true);
        const pair = issue.code === 'unrecognized_keys' && k === path.length ? findKey(doc, sub) : undefined;
        offset = pair ?? (node as { range?: [number, number, number] } | undefined)?.range?.[0];
      }
      const at = issue.path.length > 0 ? `${formatPath(issue.path as (string | number)[])}: ` : '';
      const message = issue.code === 'unrecognized_keys'
        ? `unknown ${issue.path.length === 0 ? 'field' : issue.path[0] === 'axes' ? 'axis' : 'field'} '${issue.keys.join("', '")}'${hintFor(issue.path as (string | number)[])}`
        : issue.message;
      return `${where(offset)}: ${at}${message}`;
    });
    throw new StudySpecError(problems.sort(byPosition));
  }
  return { ...(parsed.data as object), kind: isCheckpoints ? 'checkpoints' : 'grid' } as StudySpec;
}

export function readStudySpec(path: string): StudySpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new StudySpecError([`${path}: cannot read the spec (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  return parseStudySpec(text, path);
}

/** Orders 'file:line:col: …' messages by line, then column. */
function byPosition(a: string, b: string): number {
  const pos = (m: string) => /:(\d+):(\d+): /.exec(m)?.slice(1).map(Number) ?? [0, 0];
  const [la, ca] = pos(a);
  const [lb, cb] = pos(b);
  return la! - lb! || ca! - cb!;
}

function hintFor(path: (string | number)[]): string {
  if (path[0] === 'axes') return ` (axes: ${[...TRAINING_AXES, 'checkpoint'].join(', ')})`;
  if (path[0] === 'base') return ` (fields: ${TRAINING_AXES.join(', ')})`;
  if (path.length === 0) return ' (fields: name, description, dataset, base, axes, models, gap, measures, skip_measures, measure_settings, execution, slurm)';
  if (path[0] === 'slurm') return ` (fields: ${Object.keys(slurm.shape).join(', ')})`;
  return '';
}

function findKey(doc: ReturnType<typeof parseDocument>, path: (string | number)[]): number | undefined {
  // The offset of the key node of path[-1] inside its parent mapping.
  const parentPath = path.slice(0, -1);
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  const items = (parent as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | null)?.items;
  const key = path[path.length - 1];
  return items?.find((p) => p.key?.value === key)?.key?.range?.[0];
}

const formatPath = (p: (string | number)[]): string => p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
