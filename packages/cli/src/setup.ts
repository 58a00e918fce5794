// What the CLI commands share: names checked as usage errors (printed with the command's usage),
// and model weights from a checkpoint. The catalogues themselves live in robusta/train.
import { io, type nn, torch, train } from 'robusta';
import { UsageError } from './args.js';

export const { DATASETS, DEFENSES, SCHEDULES, loadSplit, normalizationOf, recipeOf } = train;
export type DatasetName = train.DatasetName;

export function checkDataset(name: string): DatasetName {
  if (!train.isDatasetName(name)) throw new UsageError(`unknown dataset '${name}' (${DATASETS.join(', ')})`);
  return name;
}

/**
 * Loads a torch.save / safetensors checkpoint (a bare state_dict or one nested under model/state_dict) into
 * a model, warning on stderr about every tensor holding NaN or infinite values (the model would answer
 * garbage without a word otherwise).
 */
export function loadWeights(model: nn.Module, path: string): void {
  const state = path.endsWith('.safetensors') ? io.loadSafetensors(path).tensors : io.loadStateDict(path);
  for (const warning of nonFiniteWarnings(state)) console.error(`warning: ${path}: ${warning}`);
  try {
    model.loadStateDict(state, { strict: true });
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/** One line per tensor with NaN or infinite values: its name and how many. */
export function nonFiniteWarnings(state: ReadonlyMap<string, torch.Tensor>): string[] {
  const out: string[] = [];
  for (const [name, t] of state) {
    if (!torch.isFloatingDtype(t.dtype)) continue;
    const [nan, inf] = torch.tidy(() => [t.isnan().sum().item(), t.isinf().sum().item()]) as [number, number];
    if (nan + inf === 0) continue;
    const what = [nan > 0 ? `${nan} NaN` : '', inf > 0 ? `${inf} infinite` : ''].filter(Boolean).join(' and ');
    out.push(`tensor '${name}' has ${what} value${nan + inf > 1 ? 's' : ''} (of ${t.numel()}): the model's outputs will be meaningless`);
  }
  return out;
}
