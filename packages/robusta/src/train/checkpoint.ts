// Training checkpoints in torch.save's format (torch.load reads them): a dict with the model's
// state_dict, the optimizer's and the schedule's state, torch's RNG state, the epoch and the best
// metric, written atomically (temporary file, fsync, rename) by io's saveTorchFile.
//   { format: 'robusta-training', version: 1, epoch, defense, best_metric, best_epoch, metrics,
//     model_state_dict: OrderedDict, optimizer_state_dict: {state: {i: {...}}, param_groups: [...]},
//     scheduler_state_dict: {...} | None, rng_state: ByteTensor, cuda_rng_state: ByteTensor | None }
// The optimizer's state is written in torch.optim's layout and spelling (state: {0: {'momentum_buffer':
// ...}}, param_groups: [{'lr', 'weight_decay', 'initial_lr', ..., 'params': [0, 1, ...]}]), so that
// `torch.optim.SGD(params).load_state_dict(ck['optimizer_state_dict'])` continues the run in PyTorch.
import { existsSync } from 'node:fs';
import { dispose, Tensor } from '@robusta/torch';
import { loadTorchFile, saveTorchFile } from '../io/torch-file.js';
import type { OptimizerState } from './types.js';

export interface TrainingCheckpoint {
  /** Epochs completed. */
  epoch: number;
  defense: string;
  bestMetric: number | null;
  bestEpoch: number | null;
  /** The metrics line of the last completed epoch. */
  metrics: Record<string, unknown> | null;
  model: Map<string, Tensor>;
  optimizer: OptimizerState;
  schedule: object | null;
  rngState: Tensor;
  cudaRngState: Tensor | null;
}

/** A file that is not a robusta training checkpoint, or one that does not fit the run. */
export class TrainingCheckpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainingCheckpointError';
  }
}

const FORMAT = 'robusta-training';

/** Plain data for the pickler: undefined entries dropped, everything else as is. */
function picklable(v: unknown): unknown {
  if (v instanceof Tensor || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(picklable);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, picklable(x)]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = picklable(x);
  return out;
}

/** robusta's camelCase optimizer keys in PyTorch's snake_case: momentumBuffer → momentum_buffer, weightDecay → weight_decay. */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The inverse: momentum_buffer → momentumBuffer; a camelCase key (a checkpoint written before the snake_case layout) stays as it is. */
function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function renameKeys<T>(o: Record<string, T>, rename: (k: string) => string): Record<string, T> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [rename(k), v]));
}

/** Back from the unpickler: dicts (Maps) become plain objects, recursively; tensors stay. */
function plain(v: unknown): unknown {
  if (v instanceof Tensor || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) out[String(k)] = plain(x);
    return out;
  }
  return v;
}

/** Writes the checkpoint atomically; the caller keeps ownership of its tensors. */
export function saveTrainingCheckpoint(path: string, c: TrainingCheckpoint): void {
  const optimizerState = new Map<number, unknown>(
    Object.entries(c.optimizer.state).map(([k, s]) => [Number(k), picklable(renameKeys(s, snakeCase))]));
  const paramGroups = c.optimizer.paramGroups.map((g) => renameKeys(g, snakeCase));
  saveTorchFile(path, {
    format: FORMAT,
    version: 1,
    epoch: c.epoch,
    defense: c.defense,
    best_metric: c.bestMetric,
    best_epoch: c.bestEpoch,
    metrics: picklable(c.metrics),
    model_state_dict: c.model,
    optimizer_state_dict: { state: optimizerState, param_groups: picklable(paramGroups) },
    scheduler_state_dict: picklable(c.schedule),
    rng_state: c.rngState,
    cuda_rng_state: c.cudaRngState,
  });
}

/** Reads a checkpoint written by saveTrainingCheckpoint; null when the file does not exist. Tensors are the caller's. */
export function loadTrainingCheckpoint(path: string): TrainingCheckpoint | null {
  if (!existsSync(path)) return null;
  const root = loadTorchFile(path);
  try {
    if (!(root instanceof Map) || root.get('format') !== FORMAT) {
      throw new TrainingCheckpointError(`${path} is not a robusta training checkpoint`);
    }
    if (root.get('version') !== 1) throw new TrainingCheckpointError(`${path}: unsupported checkpoint version ${String(root.get('version'))}`);
    const model = root.get('model_state_dict');
    const opt = root.get('optimizer_state_dict');
    const rng = root.get('rng_state');
    const epoch = root.get('epoch');
    if (!(model instanceof Map) || !(opt instanceof Map) || !(rng instanceof Tensor) || typeof epoch !== 'number') {
      throw new TrainingCheckpointError(`${path}: missing model, optimizer, RNG state or epoch`);
    }
    const optimizer = plain(opt) as { state: OptimizerState['state']; param_groups: OptimizerState['paramGroups'] };
    const cuda = root.get('cuda_rng_state');
    const schedule = root.get('scheduler_state_dict');
    return {
      epoch,
      defense: String(root.get('defense')),
      bestMetric: (root.get('best_metric') as number | null) ?? null,
      bestEpoch: (root.get('best_epoch') as number | null) ?? null,
      metrics: (plain(root.get('metrics')) as Record<string, unknown> | null) ?? null,
      model: model as Map<string, Tensor>,
      optimizer: {
        state: Object.fromEntries(Object.entries(optimizer.state ?? {}).map(([k, s]) => [k, renameKeys(s, camelCase)])),
        paramGroups: (optimizer.param_groups ?? []).map((g) => renameKeys(g, camelCase) as OptimizerState['paramGroups'][number]),
      },
      schedule: schedule == null ? null : (plain(schedule) as object),
      rngState: rng,
      cudaRngState: cuda instanceof Tensor ? cuda : null,
    };
  } catch (err) {
    dispose(root);
    throw err;
  }
}

/** Frees a loaded checkpoint's tensors. */
export function disposeCheckpoint(c: TrainingCheckpoint): void {
  dispose([...c.model.values(), c.rngState, c.cudaRngState]);
  for (const s of Object.values(c.optimizer.state)) dispose(Object.values(s));
}
